from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from portal.accounts.actions import do_invite_staff
from portal.accounts.models import User
from portal.clinics.models import CareTeam, StaffMember, TeamMembership


class Command(BaseCommand):
    help = (
        "Create a staff account and e-mail the person a link to choose their password. "
        "They set up their authenticator app at first sign-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", required=True)
        parser.add_argument("--last-name", required=True)
        parser.add_argument("--role", required=True, choices=StaffMember.Role.values)
        parser.add_argument("--team", action="append", default=[], help="Care team id; repeat for several")

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.filter(username__iexact=options["username"]).exists():
            raise CommandError(f"The username {options['username']!r} is taken.")
        teams = list(CareTeam.objects.filter(pk__in=options["team"]))
        if len(teams) != len(set(options["team"])):
            raise CommandError(
                "Some --team ids do not exist: `manage.py shell` or the operator console lists them."
            )
        with transaction.atomic():
            user = User.objects.create_user(
                username=options["username"],
                password=None,
                kind=User.Kind.STAFF,
                email=options["email"],
                is_staff=options["role"] == StaffMember.Role.ADMINISTRATOR,
            )
            staff = StaffMember.objects.create(
                user=user,
                first_name=options["first_name"],
                last_name=options["last_name"],
                role=options["role"],
            )
            TeamMembership.objects.bulk_create(TeamMembership(staff_member=staff, care_team=t) for t in teams)
            do_invite_staff(user=user)
        self.stdout.write(f"Created {user.username}; a link to choose a password went to {user.email}.")
