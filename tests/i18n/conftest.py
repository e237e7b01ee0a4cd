from tests.booking.conftest import email_tasks_in_process, page  # noqa: F401
