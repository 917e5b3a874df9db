"""Tencent Meeting event subscription: signature and AES crypto, the receiver app and its durable inbox."""

from __future__ import annotations

from resources.webhooks.crypto import AesCipher, WebhookDecodeError, compute_signature, verify_signature
from resources.webhooks.inbox import EventNotStorableError, Inbox, InboxRow
from resources.webhooks.receiver import ACK_BODY, CALLBACK_PATH, create_app
from resources.webhooks.settings import WebhookConfigError, WebhookSettings

__all__ = [
    "ACK_BODY",
    "CALLBACK_PATH",
    "AesCipher",
    "EventNotStorableError",
    "Inbox",
    "InboxRow",
    "WebhookConfigError",
    "WebhookDecodeError",
    "WebhookSettings",
    "compute_signature",
    "create_app",
    "verify_signature",
]
