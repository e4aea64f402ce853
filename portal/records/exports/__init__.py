"""Download my record: a file of the patient's own record, made in the background.

- `document`: the record in words (the pages' selectors, arranged as sections of entries),
  the one source of the PDF and of the plain text;
- `pdf`, `text`, `fhir`: the three formats;
- `actions`: ask for a download (`check_request_export`), the task that makes it
  (`prepare_record_export`, whose payload is the export's id alone), the record of a
  download, and the expiry job's work.
"""
