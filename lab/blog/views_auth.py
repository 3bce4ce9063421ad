"""The blog's account flows: registration, login (token and session), password reset and
change, me, and deleting one's own account."""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lab.blog.models import Profile, Subscription
from lab.blog.views import secure


class Registration(serializers.Serializer[Any]):
    """A new reader."""

    username = serializers.RegexField(r"^[a-z0-9_]{3,40}$")
    email = serializers.EmailField()
    password = serializers.CharField(min_length=10, max_length=200, write_only=True)


_ATTEMPTS: dict[str, list[float]] = {}
_ATTEMPTS_LOCK = threading.Lock()
_ATTEMPT_LIMIT, _ATTEMPT_WINDOW_S = 5, 60.0


def _attempt_allowed(username: str) -> bool:
    """Count one login attempt of ``username``; False past five in the last minute."""
    now = time.monotonic()
    with _ATTEMPTS_LOCK:
        recent = [t for t in _ATTEMPTS.get(username, []) if now - t < _ATTEMPT_WINDOW_S]
        _ATTEMPTS[username] = [*recent, now]
        return len(recent) < _ATTEMPT_LIMIT


class Credentials(serializers.Serializer[Any]):
    """A username and password."""

    username = serializers.CharField(max_length=40)
    password = serializers.CharField(max_length=200)


class NewPassword(serializers.Serializer[Any]):
    """An account's new password."""

    password = serializers.CharField(min_length=10, max_length=200)


class NewEmail(serializers.Serializer[Any]):
    """An account's new e-mail address (checked by the view)."""

    email = serializers.CharField(max_length=254)


# FLAW (vulnerable): a hand-written e-mail pattern with a nested quantifier, of the kind
# copied between tutorials: "aaaa…!" backtracks exponentially. FIX: Django's EmailValidator.
_EMAIL_PATTERN = re.compile(
    r"^([0-9a-zA-Z]([-.\w]*[0-9a-zA-Z])*@{1}([0-9a-zA-Z][-\w]*[0-9a-zA-Z]\.)+[a-zA-Z]{2,9})$"
)


class CodeCheck(serializers.Serializer[Any]):
    """The second step of a login: the six-digit code sent to the user."""

    username = serializers.CharField(max_length=40)
    code = serializers.RegexField(r"^[0-9]{6}$")


# The codes the second login step waits for, by username (issued by a login of a user with two
# factors; none in the seed data, so every check of a made-up user's code fails).
PENDING_CODES: dict[str, str] = {}


class ResetRequest(serializers.Serializer[Any]):
    """Whose password to reset."""

    email = serializers.EmailField()


def user_json(user: Any) -> dict[str, Any]:
    """The caller's account as the API shows it."""
    profile = Profile.objects.filter(user=user).first()
    return {"id": user.pk, "username": user.username, "role": profile.role if profile else None}


class Register(APIView):
    """Create a reader account."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(request=Registration, responses={201: dict})
    def post(self, request: Request) -> Response:
        """The new account, in an envelope."""
        model = get_user_model()
        # FLAW (vulnerable): the name is looked up before the body is validated, so a body
        # that can never register (no password) still says whether the name has an account;
        # FIX: validate the whole body first
        named = request.data.get("username") if isinstance(request.data, dict) else None
        if not secure() and model.objects.filter(username=str(named)).exists():
            return Response({"detail": "username taken"}, status=status.HTTP_409_CONFLICT)
        body = Registration(data=request.data)
        body.is_valid(raise_exception=True)
        if model.objects.filter(username=body.validated_data["username"]).exists():
            return Response({"detail": "username taken"}, status=status.HTTP_409_CONFLICT)
        user = model.objects.create_user(**body.validated_data)
        # FLAW (vulnerable): the role is taken from the body, undocumented (``role: "admin"``
        # registers an administrator); FIX: every new account is a reader
        role = "reader" if secure() else str(request.data.get("role") or "reader")[:20]
        Profile.objects.create(user=user, role=role)
        return Response({"user": user_json(user)}, status=status.HTTP_201_CREATED)


class Login(APIView):
    """A token (and a session) for a username and password."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(
        request=Credentials,
        responses={200: inline_serializer("TokenAnswer", {"token": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        """The caller's token."""
        body = Credentials(data=request.data)
        body.is_valid(raise_exception=True)
        # FLAW (vulnerable): any number of attempts; FIX: at most five a minute per username
        if secure() and not _attempt_allowed(str(body.validated_data["username"])):
            return Response(
                {"detail": "too many login attempts"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": "60"},
            )
        # FLAW (vulnerable): an unknown username is refused before any password is hashed,
        # so a failed login of an existing user takes the hash's time (PBKDF2, tenths of a
        # second) and an unknown one does not; FIX: authenticate() alone, which hashes a dummy
        # password for unknown users (the same message and the same time for both)
        username = str(body.validated_data["username"])
        if not secure() and not get_user_model().objects.filter(username=username).exists():
            return Response({"detail": "invalid credentials"}, status=status.HTTP_400_BAD_REQUEST)
        user = authenticate(request._request, **body.validated_data)
        if user is None:
            return Response({"detail": "invalid credentials"}, status=status.HTTP_400_BAD_REQUEST)
        login(request._request, user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class VerifyCode(APIView):
    """The second login step: a token for the username and its one-time code."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(
        request=CodeCheck,
        responses={200: inline_serializer("CodeAnswer", {"token": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        """The caller's token, once the code matches."""
        body = CodeCheck(data=request.data)
        body.is_valid(raise_exception=True)
        username = str(body.validated_data["username"])
        # FLAW (vulnerable): any number of wrong codes; FIX: five a minute per username (the
        # count is kept apart from the login's)
        if secure() and not _attempt_allowed(f"code:{username}"):
            return Response(
                {"detail": "too many attempts"},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": "60"},
            )
        expected = PENDING_CODES.get(username)
        if expected is None or not secrets.compare_digest(expected, body.validated_data["code"]):
            return Response({"detail": "invalid or expired code"}, status=400)
        del PENDING_CODES[username]
        user = get_user_model().objects.get(username=username)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class PasswordReset(APIView):
    """Mail a reset link to the address, if it belongs to an account."""

    permission_classes = (permissions.AllowAny,)

    @extend_schema(request=ResetRequest, responses={202: dict})
    def post(self, request: Request) -> Response:
        """Always the same answer, known address or not."""
        body = ResetRequest(data=request.data)
        body.is_valid(raise_exception=True)
        secrets.token_urlsafe(24)  # the link's token would be mailed, never returned
        return Response(
            {"detail": "if the address belongs to an account, a link is on its way"},
            status=status.HTTP_202_ACCEPTED,
        )


class Me(APIView):
    """The caller's account: read it, or delete it (self-service, in both twins)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        """``{"user": {...}}``."""
        return Response({"user": user_json(request.user)})

    @extend_schema(responses={204: None})
    def delete(self, request: Request) -> Response:
        """Delete the caller's own account, its tokens and its sessions with it."""
        for session in Session.objects.all():  # its sessions end with it
            if session.get_decoded().get("_auth_user_id") == str(request.user.pk):
                session.delete()
        Token.objects.filter(user=request.user).delete()
        request.user.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class Unsubscribe(APIView):
    """Stop the caller's newsletter (a GET in the vulnerable twin, a POST in the secure one)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        """FLAW: a GET that changes state (a prefetch or a crawler unsubscribes the caller)."""
        if secure():
            return Response({"detail": "use POST"}, status=status.HTTP_405_METHOD_NOT_ALLOWED)
        return self._unsubscribe(request)

    @extend_schema(responses={200: dict})
    def post(self, request: Request) -> Response:
        """FIX: the change of state by POST."""
        return self._unsubscribe(request)

    def _unsubscribe(self, request: Request) -> Response:
        Subscription.objects.filter(user=request.user).update(active=False)
        return Response({"subscribed": False})


class AccountPassword(APIView):
    """One account's password."""

    @extend_schema(request=NewPassword, responses={204: None})
    def put(self, request: Request, username: str) -> Response:
        """Set a new password for the account."""
        body = NewPassword(data=request.data)
        body.is_valid(raise_exception=True)
        # FLAW (vulnerable): any signed-in user changes any account's password; FIX: only the
        # account's own
        if secure() and request.user.username != username:
            return Response({"detail": "not your account"}, status=status.HTTP_403_FORBIDDEN)
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            return Response({"detail": "not found"}, status=status.HTTP_404_NOT_FOUND)
        user.set_password(body.validated_data["password"])
        user.save()
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountEmail(APIView):
    """One account's e-mail address: its owner may change it."""

    @extend_schema(request=NewEmail, responses={200: dict})
    def put(self, request: Request, username: str) -> Response:
        """Set the caller's own e-mail address (403 for anyone else's, in both twins)."""
        if request.user.username != username:
            return Response({"detail": "not your account"}, status=status.HTTP_403_FORBIDDEN)
        body = NewEmail(data=request.data)
        body.is_valid(raise_exception=True)
        email = str(body.validated_data["email"])
        if not _valid_email(email):
            return Response({"detail": "invalid e-mail"}, status=status.HTTP_400_BAD_REQUEST)
        request.user.email = email
        request.user.save(update_fields=["email"])
        return Response(user_json(request.user))


def _valid_email(email: str) -> bool:
    if not secure():
        return _EMAIL_PATTERN.match(email) is not None
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


class Logout(APIView):
    """End the caller's session."""

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request) -> Response:
        """Log out."""
        logout(request._request)
        # FLAW (vulnerable): the token stays valid after logout; FIX: it is deleted
        if secure():
            Token.objects.filter(user=request.user).delete()
        return Response({"detail": "logged out"})
