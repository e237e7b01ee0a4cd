"""Deleting an account's change-notification subscription when it is disconnected.

The tokens are wiped in the same transaction that disconnects, so the deletion is
handed what it needs first: the access token still cached for the account (read
without any call), encrypted with our token keys, to a task queued on commit
(``calendars.tasks.delete_subscription``). Without a usable token (an expired or
revoked sign-in) nothing can be deleted: the provider drops the subscription at its
expiry (3 days at most), and until then notifications for it are ignored, since the
subscription is forgotten here at once.
"""

from __future__ import annotations

import logging

from django.views.decorators.debug import sensitive_variables

from calendars import crypto
from calendars.models import CalendarConnection, ChangeSubscription
from calendars.providers import get_provider
from outbox import dispatch

logger = logging.getLogger(__name__)

DELETE_TASK = "calendars.tasks.delete_subscription"


@sensitive_variables("token_state", "token")
def subscription_forget(*, connection: CalendarConnection) -> None:
    """Forget the account's subscription, and have it deleted after commit if possible.

    Call inside the disconnecting transaction, before the tokens are wiped.
    """
    subscription = ChangeSubscription.objects.filter(pk=connection.pk).first()
    if subscription is None:
        return
    remote_id = subscription.remote_id
    ChangeSubscription.objects.filter(pk=connection.pk).update(
        remote_id="",
        client_state_digest="",
        expires_at=None,
        renew_at=None,
        sync_queued_until=None,
        last_error="",
        retry_at=None,
    )
    if not remote_id:
        return
    token = None
    try:
        row = CalendarConnection.objects.get(pk=connection.pk)
        if row.token_cache:
            token_state = crypto.decrypt(row.token_cache)
            token = get_provider(row.provider).cached_access_token(
                token_state=token_state, account_id=row.account_id
            )
    except Exception as error:  # an unreadable cache: nothing to delete with
        logger.info(
            "No token to delete connection %s's subscription (%s)",
            connection.pk,
            type(error).__name__,
        )
    if not token:
        return
    dispatch.task_send_on_commit(
        DELETE_TASK, args_list=[[connection.provider, remote_id, crypto.encrypt(token)]]
    )
