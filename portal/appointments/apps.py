from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "portal.appointments"
    label = "appointments"
    verbose_name = "Appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.appointments.home import appointments_card, appointments_entry
        from portal.appointments.past_visits import keep_encounters
        from portal.appointments.record import appointment_requests_for_record, appointments_for_record
        from portal.appointments.work_queue import appointments_work
        from portal.clinics.work_queue import register_work_source
        from portal.core.cards import register_home_card
        from portal.core.fhir_feed import register_fhir_consumer
        from portal.core.navigation import register_nav_entry
        from portal.core.promises import register_promise
        from portal.core.record_contributions import register_record_contribution

        register_nav_entry(appointments_entry)
        register_promise(order=40, text="See your appointments, book, move or cancel them")
        register_home_card(appointments_card)
        register_work_source(appointments_work)
        # Visits come from the EHR's encounters and appointments, handed over in the import's transaction.
        register_fhir_consumer({"Encounter", "Appointment"}, keep_encounters)
        # The patient's "Download my record" holds their appointments and requests.
        register_record_contribution(appointments_for_record)
        register_record_contribution(appointment_requests_for_record)
