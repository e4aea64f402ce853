from django.urls import path

from portal.smartcard import views

app_name = "smartcard"

urlpatterns = [
    path("", views.linked_cards, name="cards"),
    path("sign-in/", views.card_sign_in, name="sign_in"),
    path("link/", views.link_card, name="link"),
    path("confirm/", views.confirm_with_card, name="confirm"),
    path("register/", views.register_with_card, name="register"),
    path("<int:card_id>/remove/", views.remove_card, name="remove"),
]
