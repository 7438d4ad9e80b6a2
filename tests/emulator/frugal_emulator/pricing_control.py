"""P1 control endpoints: the emulator's price list and per-account pricing failures.

    POST /_frugal/pricing/products
    a list of products (or one object), each either
      - a whole AWS price-list document (what GetProducts returns, as an object):
        {"product": {"sku", "productFamily", "attributes": {"regionCode", "usagetype", ...}},
         "serviceCode", "terms": {"OnDemand": {"<sku>.<offerTermCode>": {"priceDimensions":
         {"<rateCode>": {"unit", "pricePerUnit": {"USD": "0.0590000000"}, ...}}, ...}}},
         optional "version", "publicationDate"}
        exactly one OnDemand term with at least one dimension; each dimension needs "unit"
        and pricePerUnit.USD a non-negative decimal string; missing "beginRange" ("0"),
        "endRange" ("Inf"), "appliesTo" ([]), "description" (""), "rateCode" (the key), the
        term's "sku", "offerTermCode", "effectiveDate", "termAttributes" are filled in;
        attributes.servicecode, when given, must equal serviceCode;
      - or the short form {"serviceCode", "productFamily", "regionCode", "usagetype", "unit",
        "usd": "0.059", optional "description", "attributes": {...}, "sku"} (one dimension,
        beginRange "0", endRange "Inf"; sku derived from service+region+usagetype unless given).
    Every item is validated before anything is stored; a sku already in the list is replaced.
    -> 200 {"skus": [...]}; 400 {"error"}.

    POST /_frugal/pricing/reset     {} -> 200 {"products": N}: back to the default list
                                    (the per-account denies are kept).

    POST /_frugal/pricing/deny
    {"account" (default 123456789012), "error": "AccessDeniedException" | "ThrottlingException"
     | "InternalErrorException" | "NotFoundException" | "ExpiredNextTokenException" | null
     (null clears), optional "times": n >= 1 (only the next n calls fail; default: every call
     until cleared)}: every Price List call signed by that account fails with that error.
    -> 200 {"account", "error", "times"}; 400 {"error"}.

The price list is global (AWS's is); the denies are per account. Outside the recorder
like ebs_snapshots.
"""

from __future__ import annotations

import copy
import decimal
from typing import Any, Callable, Iterable

from moto.core import DEFAULT_ACCOUNT_ID

from . import pricing
from .control import read_json, reply

PRODUCTS = "/_frugal/pricing/products"
RESET = "/_frugal/pricing/reset"
DENY = "/_frugal/pricing/deny"
SHORT_FIELDS = {"serviceCode", "productFamily", "regionCode", "usagetype", "unit", "usd", "description", "attributes", "sku"}


class ControlError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _string(obj: dict[str, Any], field: str, where: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{where}{field}: expected a non-empty string, got {value!r}")
    return value


def _usd(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ControlError(f"{where}: expected a decimal string such as \"0.0590000000\", got {value!r}")
    try:
        amount = decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise ControlError(f"{where}: not a decimal: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ControlError(f"{where}: must be a finite amount >= 0, got {value!r}")
    return value


def _short(item: dict[str, Any]) -> dict[str, Any]:
    unknown = set(item) - SHORT_FIELDS
    if unknown:
        raise ControlError(f"unknown fields: {sorted(unknown)}")
    service = _string(item, "serviceCode", "")
    region = _string(item, "regionCode", "")
    usagetype = _string(item, "usagetype", "")
    family = _string(item, "productFamily", "")
    unit = _string(item, "unit", "")
    usd = _usd(item.get("usd"), "usd")
    attributes = item.get("attributes", {})
    if not isinstance(attributes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()):
        raise ControlError("attributes: expected an object of strings")
    description = item.get("description", f"${usd} per {unit}")
    if not isinstance(description, str):
        raise ControlError("description: expected a string")
    sku = item.get("sku", pricing.make_sku(service, region, usagetype))
    if not isinstance(sku, str) or not sku:
        raise ControlError("sku: expected a non-empty string")
    term = f"{sku}.{pricing.ON_DEMAND_TERM}"
    rate = f"{term}.{pricing.RATE_CODE}"
    attrs = {
        "regionCode": region, "servicecode": service, "usagetype": usagetype, "locationType": "AWS Region",
        "location": pricing.LOCATIONS.get(region, region),
    }
    attrs.update(attributes)
    return validate({
        "product": {"productFamily": family, "attributes": attrs, "sku": sku},
        "serviceCode": service,
        "terms": {"OnDemand": {term: {"priceDimensions": {rate: {
            "unit": unit, "endRange": "Inf", "description": description, "appliesTo": [], "rateCode": rate,
            "beginRange": "0", "pricePerUnit": {"USD": usd}}}}}},
    })


def validate(item: Any) -> dict[str, Any]:
    """A checked, completed copy of one price-list document; raises ControlError."""
    if not isinstance(item, dict):
        raise ControlError("each product must be a JSON object")
    if "usd" in item:
        return _short(item)
    unknown = set(item) - {"product", "serviceCode", "terms", "version", "publicationDate"}
    if unknown:
        raise ControlError(f"unknown fields: {sorted(unknown)}")
    doc = copy.deepcopy(item)
    product = doc.get("product")
    if not isinstance(product, dict):
        raise ControlError("product: expected an object {sku, productFamily, attributes}")
    sku = _string(product, "sku", "product.")
    _string(product, "productFamily", "product.")
    service = _string(doc, "serviceCode", "")
    attrs = product.get("attributes")
    if not isinstance(attrs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in attrs.items()):
        raise ControlError("product.attributes: expected an object of strings")
    _string(attrs, "regionCode", "product.attributes.")
    _string(attrs, "usagetype", "product.attributes.")
    if attrs.setdefault("servicecode", service) != service:
        raise ControlError(f"product.attributes.servicecode {attrs['servicecode']!r} differs from serviceCode {service!r}")
    terms = doc.get("terms")
    on_demand = terms.get("OnDemand") if isinstance(terms, dict) else None
    if not isinstance(on_demand, dict) or len(on_demand) != 1:
        raise ControlError("terms.OnDemand: expected exactly one term")
    [(term_key, term)] = on_demand.items()
    if not isinstance(term, dict):
        raise ControlError(f"terms.OnDemand.{term_key}: expected an object")
    dims = term.get("priceDimensions")
    if not isinstance(dims, dict) or not dims:
        raise ControlError(f"terms.OnDemand.{term_key}.priceDimensions: expected at least one dimension")
    for rate, dim in dims.items():
        where = f"terms.OnDemand.{term_key}.priceDimensions.{rate}"
        if not isinstance(dim, dict):
            raise ControlError(f"{where}: expected an object")
        _string(dim, "unit", where + ".")
        price = dim.get("pricePerUnit")
        if not isinstance(price, dict):
            raise ControlError(f"{where}.pricePerUnit: expected {{\"USD\": \"0.05\"}}")
        _usd(price.get("USD"), f"{where}.pricePerUnit.USD")
        for field, default in (("beginRange", "0"), ("endRange", "Inf"), ("description", ""), ("rateCode", rate)):
            value = dim.setdefault(field, default)
            if not isinstance(value, str):
                raise ControlError(f"{where}.{field}: expected a string")
        if not isinstance(dim.setdefault("appliesTo", []), list):
            raise ControlError(f"{where}.appliesTo: expected a list")
    term.setdefault("sku", sku)
    term.setdefault("offerTermCode", term_key.rsplit(".", 1)[-1])
    term.setdefault("effectiveDate", pricing.EFFECTIVE_DATE)
    term.setdefault("termAttributes", {})
    doc.setdefault("version", pricing.VERSION)
    doc.setdefault("publicationDate", pricing.PUBLICATION_DATE)
    # AWS's key order: product, serviceCode, terms, version, publicationDate.
    return {k: doc[k] for k in ("product", "serviceCode", "terms", "version", "publicationDate")}


def put_products(params: Any) -> dict[str, Any]:
    items = params if isinstance(params, list) else [params]
    if not items:
        raise ControlError("expected at least one product")
    docs = [validate(item) for item in items]  # everything first
    return {"skus": pricing.put_products(docs)}


def reset(params: Any) -> dict[str, Any]:
    pricing.reset()
    return {"products": len(pricing.default_products())}


def deny(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ControlError("expected a JSON object")
    unknown = set(params) - {"account", "error", "times"}
    if unknown:
        raise ControlError(f"unknown fields: {sorted(unknown)}")
    account = params.get("account", DEFAULT_ACCOUNT_ID)
    if not isinstance(account, str) or not account.isdigit() or len(account) != 12:
        raise ControlError(f"account: expected a 12-digit account id, got {account!r}")
    if "error" not in params:
        raise ControlError(f"error: required, one of {sorted(pricing.DENY_ERRORS)} or null")
    error = params["error"]
    if error is not None and error not in pricing.DENY_ERRORS:
        raise ControlError(f"error: expected one of {sorted(pricing.DENY_ERRORS)} or null, got {error!r}")
    times = params.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ControlError(f"times: expected an integer >= 1, got {times!r}")
    pricing.set_deny(account, error, times)
    return {"account": account, "error": error, "times": times}


class PricingControl:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        handler = {PRODUCTS: put_products, RESET: reset, DENY: deny}.get(path)
        if handler is None:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return reply(start_response, "405 METHOD NOT ALLOWED", {"error": "POST only"})
        try:
            try:
                params = read_json(environ)
            except ValueError as err:
                raise ControlError(f"bad JSON: {err}") from None
            answer = handler(params)
        except ControlError as err:
            return reply(start_response, "400 BAD REQUEST", {"error": err.message})
        return reply(start_response, "200 OK", answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return PricingControl(app)
