from django.urls import path

from portal.accounts.views import (
    email_change,
    notice,
    reauth,
    recovery,
    registration,
    security,
    signin,
    steps,
)

app_name = "accounts"

urlpatterns = [
    path("notice/", notice.notice, name="notice"),
    path("sign-in/", signin.sign_in, name="sign_in"),
    path("sign-in/second-step/", signin.second_factor, name="second_factor"),
    path("sign-out/", signin.sign_out, name="sign_out"),
    path("session/status", signin.session_status, name="session_status"),
    path("session/keep-alive", signin.keep_alive, name="keep_alive"),
    path("register/", registration.register, name="register"),
    path("register/account/", registration.register_account, name="register_account"),
    path("register/check-your-email/", registration.register_done, name="register_done"),
    path("register/resend/", registration.resend_confirmation, name="resend_confirmation"),
    path("confirm/<str:token>/", registration.confirm_email, name="confirm_email"),
    path("email-change/cancel/<str:token>/", email_change.cancel_email_change, name="cancel_email_change"),
    path("password-reset/", recovery.password_reset_request, name="password_reset_request"),
    path("password-reset/<str:token>/", recovery.password_reset, name="password_reset"),
    path("confirm-its-you/", reauth.confirm_its_you, name="confirm_its_you"),
    path("security/", security.security, name="security"),
    path("security/authenticator/", security.mfa_setup, name="mfa_setup"),
    path("security/authenticator/remove/", security.remove_second_factor, name="mfa_remove"),
    path("security/recovery-codes/", security.recovery_codes, name="recovery_codes"),
    path("security/recovery-codes/new/", security.new_recovery_codes, name="new_recovery_codes"),
    path(
        "security/recovery-codes/download/",
        security.download_recovery_codes,
        name="download_recovery_codes",
    ),
    path("security/not-me/", security.not_me, name="not_me"),
    path("security/password/", security.change_password, name="change_password"),
    path("second-step/", security.mfa_offer, name="mfa_offer"),
    path("contact/", steps.contact, name="contact"),
    path("terms/", steps.terms, name="terms"),
]
