"""A model used only by the tests, to exercise the encrypted field and key rotation."""

from django.db import models

from uketome.core.fields import EncryptedTextField


class Diary(models.Model):
    title = models.CharField(max_length=50)
    body = EncryptedTextField(blank=True, null=True)

    def __str__(self) -> str:
        return self.title
