"""The whitelist: list, add, remove, import a CSV or vCard file (previewed before anything is written), and accept
or reject the entries learned from calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.services.console.auth import CsrfChecked, Person, SignedIn
from answer_ninja.services.console.backends import FormProblem, backends_of
from answer_ninja.services.console.rendering import render
from answer_ninja.services.user_management.imports import ContactFileError, contacts_from_csv, contacts_from_vcard
from answer_ninja.services.user_management.schemas import ID_PATTERN
from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, to_e164

router = APIRouter(dependencies=[CsrfChecked])
Ctx = Depends(context_of)
EntryId = Annotated[str, Path(pattern=ID_PATTERN)]
# What user-management accepts in one import (ImportRequest.content); a bigger file is refused before reading on.
IMPORT_MAX_BYTES = 2_000_000
PREVIEW_ROWS = 50


async def _entries(ctx: ServiceContext, person: Person, status: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = await backends_of(ctx).person_json(
        person, "GET", "user-management", "/api/v1/whitelist", params={"status": status}
    )
    return entries


async def _page(
    request: Request, ctx: ServiceContext, person: Person, *, status_code: int = 200, **context: Any
) -> Response:
    active = await _entries(ctx, person, "active")
    proposed = await _entries(ctx, person, "proposed")
    defaults: dict[str, Any] = {"error": None, "fields": {}, "form": {}, "preview": None, "done": None}
    defaults.update(context)
    return render(request, "whitelist.html", person, status_code=status_code, active=active, proposed=proposed,
                  **defaults)  # fmt: skip


@router.get("/whitelist")
async def whitelist(request: Request, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    return await _page(request, ctx, person, done=request.query_params.get("done"))


@router.post("/whitelist")
async def add_entry(
    request: Request,
    number: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    try:
        await backends_of(ctx).person(
            person, "POST", "user-management", "/api/v1/whitelist", json={"number": number, "name": name}
        )
    except FormProblem as problem:
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message,
                           fields=problem.fields, form={"number": number, "name": name})  # fmt: skip
    return RedirectResponse("/whitelist?done=added", status_code=303)


@router.post("/whitelist/{entry_id}/delete")
async def remove_entry(entry_id: EntryId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    await backends_of(ctx).person(person, "DELETE", "user-management", f"/api/v1/whitelist/{entry_id}")
    return RedirectResponse("/whitelist?done=removed", status_code=303)


@router.post("/whitelist/{entry_id}/accept")
async def accept_entry(entry_id: EntryId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    await backends_of(ctx).person(
        person, "PATCH", "user-management", f"/api/v1/whitelist/{entry_id}", json={"status": "active"}
    )
    return RedirectResponse("/whitelist?done=accepted", status_code=303)


@router.post("/whitelist/{entry_id}/reject")
async def reject_entry(entry_id: EntryId, person: Person = SignedIn, ctx: ServiceContext = Ctx) -> Response:
    await backends_of(ctx).person(
        person, "PATCH", "user-management", f"/api/v1/whitelist/{entry_id}", json={"status": "rejected"}
    )
    return RedirectResponse("/whitelist?done=rejected", status_code=303)


def preview_rows(content: str, file_format: str, known: set[str], region: str) -> dict[str, Any]:
    """What an import would do, row by row, without writing anything (the same parsers user-management uses)."""
    contacts = contacts_from_csv(content) if file_format == "csv" else contacts_from_vcard(content)
    rows, new, present, invalid = [], 0, 0, 0
    seen: set[str] = set()
    for raw, name in contacts:
        try:
            number = to_e164(raw, region=region)
        except InvalidPhoneNumberError:
            invalid += 1
            rows.append({"raw": raw[:40], "name": name[:120], "number": None, "state": "invalid"})
            continue
        state = "present" if number in known or number in seen else "new"
        seen.add(number)
        new += state == "new"
        present += state == "present"
        rows.append({"raw": raw[:40], "name": name[:120], "number": number, "state": state})
    return {"rows": rows[:PREVIEW_ROWS], "total": len(rows), "new": new, "present": present, "invalid": invalid}


def _format_of(filename: str, content: str) -> str:
    lowered = filename.lower()
    if lowered.endswith((".vcf", ".vcard")) or content.lstrip().upper().startswith("BEGIN:VCARD"):
        return "vcard"
    return "csv"


@router.post("/whitelist/import/preview")
async def import_preview(
    request: Request, file: UploadFile, person: Person = SignedIn, ctx: ServiceContext = Ctx
) -> Response:
    raw = await file.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        return await _page(request, ctx, person, status_code=413, error="whitelist.too_big", fields={"file": ""})
    content = raw.decode("utf-8-sig", errors="replace")
    file_format = _format_of(file.filename or "", content)
    known = {entry["number"] for entry in await _entries(ctx, person, "active")}
    try:
        preview = preview_rows(content, file_format, known, ctx.settings.default_phone_region)
    except (ContactFileError, ValueError) as error:
        return await _page(request, ctx, person, status_code=422, error=str(error)[:200], fields={"file": ""})
    preview.update(content=content, format=file_format, filename=file.filename or "")
    return await _page(request, ctx, person, preview=preview)


@router.post("/whitelist/import")
async def import_file(
    request: Request,
    content: Annotated[str, Form(max_length=IMPORT_MAX_BYTES)],
    file_format: Annotated[str, Form(alias="format", pattern="^(csv|vcard)$")],
    person: Person = SignedIn,
    ctx: ServiceContext = Ctx,
) -> Response:
    try:
        result = await backends_of(ctx).person_json(
            person, "POST", "user-management", "/api/v1/whitelist/import",
            json={"format": file_format, "content": content}, timeout=60.0,
        )  # fmt: skip
    except FormProblem as problem:
        return await _page(request, ctx, person, status_code=problem.status, error=problem.message)
    return await _page(request, ctx, person, done="imported", imported=result)
