"""E1/E2: VPC gateway endpoint fidelity for moto 5.2.5.

E1  CreateVpcEndpoint honours ClientToken (Amazon EC2 API Reference,
    CreateVpcEndpoint: "ClientToken: Unique, case-sensitive identifier that you
    provide to ensure the idempotency of the request"). Same token + same
    parameters in the same account/region -> the same endpoint, no new routes;
    same token + different parameters -> IdempotentParameterMismatch. The
    response echoes clientToken.

E2  ModifyVpcEndpoint AddRouteTableIds / RemoveRouteTableIds on a Gateway
    endpoint add / remove the service prefix-list route (target = the vpce id),
    exactly like CreateVpcEndpoint's RouteTableIds. Both calls reject a route
    table that already routes the same prefix list through another gateway
    endpoint ("A route table can be associated with only one gateway endpoint
    per service") with RouteAlreadyExists. Every route table id is validated
    before anything changes, so a failing call leaves no half-made state.
    DeleteVpcEndpoints tolerates an already deleted endpoint and a route that
    is already gone instead of failing the whole call.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
from moto.ec2.responses.vpcs import VPCs
from moto.ec2.utils import generate_route_id

_ORIG: dict[str, Callable[..., Any]] = {}
# The server is threaded: check-then-create (token, route conflicts) must be atomic.
_LOCK = threading.RLock()


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return fn(*args, **kwargs)

    return inner


class IdempotentParameterMismatch(EC2ClientError):
    def __init__(self, token: str) -> None:
        super().__init__(
            "IdempotentParameterMismatch",
            f"The client token '{token}' has already been used with different "
            "request parameters.",
        )


class GatewayEndpointRouteAlreadyExists(EC2ClientError):
    def __init__(self, route_table_id: str, prefix_list_id: str) -> None:
        super().__init__(
            "RouteAlreadyExists",
            f"route table {route_table_id} already has a route with "
            f"destination-prefix-list-id {prefix_list_id}",
        )


def _is_gateway(endpoint_type: str | None) -> bool:
    return (endpoint_type or "Gateway").lower() == "gateway"


def _service_prefix_list_id(backend: Any, service_name: str) -> str | None:
    # The same lookup moto's create_vpc_endpoint does.
    for prefix_list in backend.managed_prefix_lists.values():
        if prefix_list.prefix_list_name == service_name:
            return prefix_list.id
    return None


def _check_route_tables_free(
    backend: Any, route_table_ids: list[str], prefix_list_id: str
) -> None:
    """Validate all route tables first; raise before anything is changed."""
    for route_table_id in route_table_ids:
        route_table = backend.get_route_table(route_table_id)  # NotFound error
        route_id = generate_route_id(route_table.id, prefix_list_id)
        if route_id in route_table._routes:
            raise GatewayEndpointRouteAlreadyExists(route_table_id, prefix_list_id)


def _fingerprint(**params: Any) -> tuple:
    return (
        params.get("vpc_id"),
        params.get("service_name"),
        (params.get("endpoint_type") or "Gateway").lower(),
        tuple(sorted(params.get("route_table_ids") or [])),
        tuple(sorted(params.get("subnet_ids") or [])),
        tuple(sorted(params.get("security_group_ids") or [])),
    )


def create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> VPCEndPoint:
    names = [
        "vpc_id",
        "service_name",
        "endpoint_type",
        "policy_document",
        "route_table_ids",
        "subnet_ids",
        "network_interface_ids",
        "dns_entries",
        "client_token",
        "security_group_ids",
        "tags",
        "private_dns_enabled",
    ]
    params = dict(zip(names, args))
    params.update(kwargs)
    token = params.get("client_token")
    tokens: dict[str, tuple[tuple, str]] = self.__dict__.setdefault(
        "_frugal_client_tokens", {}
    )
    if token:
        seen = tokens.get(token)
        if seen is not None:
            fingerprint, endpoint_id = seen
            if fingerprint != _fingerprint(**params):
                raise IdempotentParameterMismatch(token)
            return self.vpc_end_points[endpoint_id]

    if _is_gateway(params.get("endpoint_type")):
        self.get_vpc(params["vpc_id"])
        prefix_list_id = _service_prefix_list_id(self, params.get("service_name"))
        if prefix_list_id:
            route_table_ids = list(dict.fromkeys(params.get("route_table_ids") or []))
            _check_route_tables_free(self, route_table_ids, prefix_list_id)
            params["route_table_ids"] = route_table_ids

    endpoint = _ORIG["create_vpc_endpoint"](self, **params)
    if token:
        tokens[token] = (_fingerprint(**params), endpoint.id)
    return endpoint


def modify_vpc_endpoint(
    self: Any,
    vpc_id: str,  # moto's name for the VpcEndpointId
    policy_doc: str,
    add_subnets: list[str] | None,
    remove_subnets: list[str] | None,
    remove_route_tables: list[str] | None,
    add_route_tables: list[str] | None,
    add_security_groups: list[str] | None,
    remove_security_groups: list[str] | None,
) -> None:
    endpoint = self.get_vpc_end_point(vpc_id)
    prefix_list_id = endpoint.destination_prefix_list_id
    if _is_gateway(endpoint.vpc_endpoint_type) and prefix_list_id:
        to_add = [
            rt
            for rt in dict.fromkeys(add_route_tables or [])
            if rt not in endpoint.route_table_ids
        ]
        to_remove = [
            rt
            for rt in dict.fromkeys(remove_route_tables or [])
            if rt in endpoint.route_table_ids
        ]
        _check_route_tables_free(self, to_add, prefix_list_id)
        for route_table_id in remove_route_tables or []:
            self.get_route_table(route_table_id)  # NotFound error
        for route_table_id in to_add:
            self.create_route(
                route_table_id,
                None,
                gateway_id=endpoint.id,
                destination_prefix_list_id=prefix_list_id,
            )
        for route_table_id in to_remove:
            _delete_endpoint_route(self, route_table_id, prefix_list_id, endpoint.id)
    _ORIG["modify_vpc_endpoint"](
        self,
        vpc_id=vpc_id,
        policy_doc=policy_doc,
        add_subnets=add_subnets,
        remove_subnets=remove_subnets,
        remove_route_tables=remove_route_tables,
        add_route_tables=add_route_tables,
        add_security_groups=add_security_groups,
        remove_security_groups=remove_security_groups,
    )


def _delete_endpoint_route(
    backend: Any, route_table_id: str, prefix_list_id: str, endpoint_id: str
) -> None:
    route_table = backend.route_tables.get(route_table_id)
    if route_table is None:
        return
    route_id = generate_route_id(route_table_id, prefix_list_id)
    route = route_table._routes.get(route_id)
    if route is not None and route.gateway_id == endpoint_id:
        del route_table._routes[route_id]


def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> None:
    for vpce_id in vpce_ids or []:
        endpoint = self.vpc_end_points.get(vpce_id)
        if endpoint is None or endpoint.state == "deleted":
            continue
        if (endpoint.vpc_endpoint_type or "Gateway").lower() == "interface":
            for eni_id in endpoint.network_interface_ids:
                self.enis.pop(eni_id, None)
        elif endpoint.destination_prefix_list_id:
            for route_table_id in endpoint.route_table_ids:
                _delete_endpoint_route(
                    self, route_table_id, endpoint.destination_prefix_list_id, vpce_id
                )
        endpoint.state = "deleted"


def create_vpc_endpoint_response(self: Any) -> Any:
    result = _ORIG["response_create_vpc_endpoint"](self)
    token = self._get_param("ClientToken")
    if token and isinstance(getattr(result, "result", None), dict):
        result.result["ClientToken"] = token
    return result


def apply() -> None:
    if _ORIG:
        return
    _ORIG["create_vpc_endpoint"] = VPCBackend.create_vpc_endpoint
    _ORIG["modify_vpc_endpoint"] = VPCBackend.modify_vpc_endpoint
    _ORIG["delete_vpc_endpoints"] = VPCBackend.delete_vpc_endpoints
    _ORIG["response_create_vpc_endpoint"] = VPCs.create_vpc_endpoint
    VPCBackend.create_vpc_endpoint = _locked(create_vpc_endpoint)
    VPCBackend.modify_vpc_endpoint = _locked(modify_vpc_endpoint)
    VPCBackend.delete_vpc_endpoints = _locked(delete_vpc_endpoints)
    VPCs.create_vpc_endpoint = create_vpc_endpoint_response
