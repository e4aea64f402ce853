from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "portal.medications"
    label = "medications"
    verbose_name = "Medications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.clinics.open_work import register_open_work_check
        from portal.clinics.work_queue import register_work_source
        from portal.core.cards import register_home_card
        from portal.core.fhir_feed import register_fhir_consumer
        from portal.core.navigation import register_nav_entry
        from portal.core.promises import register_promise
        from portal.core.record_contributions import register_record_contribution
        from portal.medications import about, feed
        from portal.medications.home import medications_card, medications_entry
        from portal.medications.record import refill_requests_for_record
        from portal.medications.work_queue import open_renewals_note, pharmacy_work

        # Prescriptions and fills come from the EHR import, inside the bundle's transaction.
        register_fhir_consumer({"MedicationRequest", "MedicationDispense"}, feed.take)
        # A renewal's conversation links back to the renewal (where the team answers it).
        about.register()
        register_nav_entry(medications_entry)
        register_promise(order=50, text="See your medications and ask for refills and renewals")
        register_home_card(medications_card)
        register_open_work_check(open_renewals_note)
        # The staff landing page: a pharmacist's queues, a care team's waiting renewals.
        register_work_source(pharmacy_work)
        # The patient's "Download my record" holds their refill requests.
        register_record_contribution(refill_requests_for_record)
