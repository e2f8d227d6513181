"""Public authentication routes (/api/v1/auth) and the JWKS: no identity needed, except for
the routes acting on the signed-in user (password change, 2FA, resending the mail)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.schemas import (
    LoginIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    RecoveryCodesOut,
    RefreshIn,
    RegisterIn,
    RegisterOut,
    TokenIn,
    TokenOut,
    TotpCodeIn,
    TotpDisableIn,
    TotpEnrolOut,
)
from argosy.services.users.service._context import Caller, Client
from argosy.services.users.service.auth import AuthService
from argosy.services.users.service.recovery import RecoveryService
from argosy.services.users.service.twofactor import TwoFactorService
from argosy.services.users.signing import SigningKeys

__all__ = ["jwks_router", "router"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def router(deps: RequestDeps, auth: AuthService, recovery: RecoveryService,
           two_factor: TwoFactorService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806  (type aliases)
    From = Annotated[Client, Depends(deps.client)]  # noqa: N806

    @r.post("/register", status_code=201, summary="Create an account (and its organisation)",
            description="The answer is the same for an address that already has an account "
                        "(its owner is notified instead; no account is created), so it "
                        "cannot be used to find out who is registered.")
    async def register(body: RegisterIn, client: From) -> RegisterOut:
        return await auth.register(body, client)

    @r.post("/login", summary="Email + password (+ totp) → access and refresh tokens")
    async def login(body: LoginIn, client: From, response: Response) -> TokenOut:
        response.headers.update(_NO_STORE)
        return await auth.login(body, client)

    @r.post("/refresh", summary="Rotate a refresh token into a new token pair")
    async def refresh(body: RefreshIn, client: From, response: Response) -> TokenOut:
        response.headers.update(_NO_STORE)
        return await auth.refresh(body.refresh_token, client)

    @r.post("/logout", status_code=204, summary="Revoke the session of a refresh token")
    async def logout(body: RefreshIn, client: From) -> Response:
        await auth.logout(body.refresh_token, client)
        return Response(status_code=204)

    @r.post("/verify-email", status_code=204, summary="Confirm an email with the mailed token")
    async def verify_email(body: TokenIn, client: From) -> Response:
        await recovery.verify_email(body.token, client)
        return Response(status_code=204)

    @r.post("/verify-email/resend", status_code=202, summary="Mail a new verification token")
    async def resend(c: Who) -> Response:
        await recovery.resend_verification(c)
        return Response(status_code=202)

    @r.post("/password/reset", status_code=202,
            summary="Mail a reset token (the answer is the same for unknown emails)")
    async def reset(body: PasswordResetIn, client: From) -> Response:
        await recovery.request_reset(body.email, client)
        return Response(status_code=202)

    @r.post("/password/reset/confirm", status_code=204,
            summary="Set a new password with a reset or invitation token")
    async def reset_confirm(body: PasswordResetConfirmIn, client: From) -> Response:
        await recovery.confirm_reset(body.token, body.new_password, client)
        return Response(status_code=204)

    @r.post("/password/change",
            summary="Change the password; ends every other session, returns a fresh pair")
    async def change(body: PasswordChangeIn, c: Who, response: Response) -> TokenOut:
        response.headers.update(_NO_STORE)
        return await recovery.change_password(c, body.current_password, body.new_password)

    @r.post("/2fa/enrol", summary="Start TOTP enrolment: the secret and otpauth:// URI")
    async def enrol(c: Who, response: Response) -> TotpEnrolOut:
        response.headers.update(_NO_STORE)
        return await two_factor.enrol(c)

    @r.post("/2fa/confirm", summary="Turn TOTP on with a first code; returns recovery codes")
    async def confirm(body: TotpCodeIn, c: Who, response: Response) -> RecoveryCodesOut:
        response.headers.update(_NO_STORE)
        return await two_factor.confirm(c, body.code)

    @r.post("/2fa/disable", status_code=204, summary="Turn TOTP off (password + a code)")
    async def disable(body: TotpDisableIn, c: Who) -> Response:
        await two_factor.disable(c, body.password, body.code)
        return Response(status_code=204)

    @r.post("/2fa/recovery-codes", summary="Replace the recovery codes (needs a TOTP code)")
    async def regenerate(body: TotpCodeIn, c: Who, response: Response) -> RecoveryCodesOut:
        response.headers.update(_NO_STORE)
        return await two_factor.regenerate_codes(c, body.code)

    return r


def jwks_router(keys: SigningKeys) -> APIRouter:
    r = APIRouter(tags=["auth"])

    @r.get("/.well-known/jwks.json", summary="Public keys that verify access tokens (EdDSA)")
    async def jwks(response: Response) -> dict[str, Any]:
        response.headers["Cache-Control"] = "public, max-age=60"
        return await keys.jwks()

    return r
