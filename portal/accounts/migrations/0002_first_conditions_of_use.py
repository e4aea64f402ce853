"""Publish the first version of the conditions of use."""

from django.db import migrations

TEXT = """By using this portal you agree to these conditions.

1. This is a U.S. Government information system. Use it only for your own health care or that of people you are authorized to act for.

2. Secure messages are for questions that are not urgent. Your care team answers within 3 business days. In an emergency call 911. If you are in crisis, call or text 988 and press 1.

3. Keep your username, password, authenticator app and recovery codes to yourself. Tell the help desk at once if you think someone else used your account.

4. Messages you send become part of your health record and may be read by members of your care team.

5. Every use of this system is recorded. Records of your use are kept to protect your information and may be reviewed by authorized staff.

6. Do not try to see information that is not yours, to disrupt the system, or to send harmful files.

7. We may change these conditions. When we do, we ask you to accept the new version the next time you sign in."""


def publish(apps, schema_editor):  # type: ignore[no-untyped-def]
    TermsVersion = apps.get_model("accounts", "TermsVersion")
    TermsVersion.objects.get_or_create(
        version="2026.1", defaults={"title": "Conditions of use", "text": TEXT}
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
