"""Sending mail over SMTP (settings ``MAIL_SMTP_*`` and ``MAIL_FROM`` from the environment).

Without an SMTP host nothing is sent: notifications are only listed in the app.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass
class OutgoingMail:
    to: str
    subject: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)


def mail_configured(config=None) -> bool:
    config = config if config is not None else current_app.config
    return bool((config.get("MAIL_SMTP_HOST") or "").strip())


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "crmphase")
    message.set_content(mail.body)
    for item in mail.attachments:
        message.add_attachment(
            item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename
        )
    return message


class MailConnection:
    """One SMTP session for a batch of messages (``with MailConnection() as smtp:``)."""

    def __init__(self, config=None):
        self.config = config if config is not None else current_app.config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> MailConnection:
        config = self.config
        smtp = smtplib.SMTP(
            config["MAIL_SMTP_HOST"], int(config["MAIL_SMTP_PORT"]), timeout=TIMEOUT_SECONDS
        )
        try:
            smtp.ehlo()
            if config.get("MAIL_SMTP_STARTTLS"):
                smtp.starttls()
                smtp.ehlo()
            if config.get("MAIL_SMTP_USER"):
                smtp.login(config["MAIL_SMTP_USER"], config.get("MAIL_SMTP_PASSWORD", ""))
        except Exception:
            smtp.close()
            raise
        self.smtp = smtp
        return self

    def send(self, mail: OutgoingMail) -> None:
        assert self.smtp is not None
        self.smtp.send_message(build_message(mail, self.config["MAIL_FROM"]))

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
