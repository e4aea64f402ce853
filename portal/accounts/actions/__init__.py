"""Every write of the accounts app: check_* validates and authorizes, do_* writes and audits.

Split by what is written: sign-in, second factor, passwords, registration,
first sign-in steps. Reads live in `portal.accounts.selectors`.
"""

from portal.accounts.actions.email_change import (
    check_cancel_link,
    check_email_change_link,
    do_cancel_email_change,
    do_confirm_email_change,
)
from portal.accounts.actions.first_steps import (
    ContactChange,
    do_accept_terms,
    do_update_contact,
    do_verify_contact,
)
from portal.accounts.actions.passwords import (
    check_reset_link,
    do_change_password,
    do_invite_staff,
    do_request_password_reset,
    do_reset_password,
)
from portal.accounts.actions.reauthentication import (
    check_not_held,
    check_reauthentication,
    do_record_reauthentication_asked,
    record_reauthentication_failure,
)
from portal.accounts.actions.registration import (
    RegistrationNoMatch,
    check_new_account,
    check_registration_identity,
    do_confirm_email,
    do_create_patient_account,
    do_resend_registration_link,
)
from portal.accounts.actions.second_factor import (
    RECOVERY_CODE_COUNT,
    do_confirm_totp,
    do_mark_mfa_offered,
    do_record_recovery_codes_download,
    do_regenerate_recovery_codes,
    do_remove_second_factor,
    unconfirmed_totp_device,
)
from portal.accounts.actions.signin import (
    SignInRefused,
    check_second_factor,
    check_sign_in,
    do_end_other_sessions,
    do_record_sign_in,
    do_record_sign_out,
)

__all__ = [
    "RECOVERY_CODE_COUNT",
    "RegistrationNoMatch",
    "SignInRefused",
    "unconfirmed_totp_device",
    "check_sign_in",
    "check_second_factor",
    "do_record_sign_in",
    "do_end_other_sessions",
    "do_record_sign_out",
    "check_reauthentication",
    "check_not_held",
    "record_reauthentication_failure",
    "do_record_reauthentication_asked",
    "do_confirm_totp",
    "do_regenerate_recovery_codes",
    "do_record_recovery_codes_download",
    "do_remove_second_factor",
    "do_mark_mfa_offered",
    "do_change_password",
    "do_request_password_reset",
    "do_invite_staff",
    "check_reset_link",
    "do_reset_password",
    "check_registration_identity",
    "check_new_account",
    "do_create_patient_account",
    "do_resend_registration_link",
    "do_confirm_email",
    "check_email_change_link",
    "do_confirm_email_change",
    "check_cancel_link",
    "do_cancel_email_change",
    "ContactChange",
    "do_update_contact",
    "do_verify_contact",
    "do_accept_terms",
]
