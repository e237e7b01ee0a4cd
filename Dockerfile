# Production image: gunicorn for the web, the same image for Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected and the message catalogues compiled at build time; settings need placeholder secrets to load.
RUN DEBUG=0 SECRET_KEY=build-only ALLOWED_HOSTS=build \
    TOKEN_ENCRYPTION_KEYS=$(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
    sh -c "python manage.py collectstatic --noinput && python manage.py compilemessages" \
 && useradd --create-home --uid 1000 app && mkdir -p /app/var/metrics && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "scheduleonce.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--logger-class", "ops.gunicorn_logging.RedactingLogger"]
