"""OpenID discovery, the signing keys, and instance discovery (TLS endpoints)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from graph_sandbox import jwt, tls
from graph_sandbox.clock import sandbox_now
from graph_sandbox.identity.errors import IdentityError, identity_error_response
from graph_sandbox.identity.scopes import OIDC_SCOPES
from graph_sandbox.identity.tenants import tenant_for_segment
from graph_sandbox.pagesurl import authorize_url


def base_url(request: HttpRequest) -> str:
    """``https://host:port`` as the client reached us: every URL we hand out uses it."""
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
def openid_configuration(request: HttpRequest, tenant: str) -> JsonResponse:
    """``{authority}/v2.0/.well-known/openid-configuration``, as MSAL reads it."""
    try:
        directory = tenant_for_segment(tenant)
    except IdentityError as exc:
        return identity_error_response(request, exc, now=sandbox_now())
    base = base_url(request)
    issuer_tenant = str(directory.tenant_id) if directory else "{tenantid}"
    return JsonResponse(
        {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": list(OIDC_SCOPES),
            "issuer": f"{base}/{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": authorize_url(tenant),
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "email",
            ],
            "tenant_region_scope": None,
            "cloud_instance_name": request.get_host(),
            "msgraph_host": request.get_host(),
        }
    )


@require_GET
def signing_keys(request: HttpRequest, tenant: str) -> JsonResponse:
    """The JSON Web Key Set that verifies the sandbox's id and access tokens."""
    return JsonResponse(jwt.jwks(tls.signing_key()))


@require_GET
def instance_discovery(request: HttpRequest, tenant: str) -> JsonResponse:
    """``/common/discovery/instance``: what MSAL asks when it validates an authority."""
    base = base_url(request)
    host = request.get_host()
    segment = _tenant_of(request.GET.get("authorization_endpoint", ""))
    return JsonResponse(
        {
            "tenant_discovery_endpoint": f"{base}/{segment}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


def _tenant_of(authorization_endpoint: str) -> str:
    """The tenant segment of ``https://host/<tenant>/oauth2/v2.0/authorize``."""
    parts = authorization_endpoint.split("/")
    return parts[3] if len(parts) > 3 and parts[3] else "common"
