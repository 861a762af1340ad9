"""HTTP routes of conversation-engine: a thin layer over ``flows.ConversationEngine`` and the intent classifier."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from answer_ninja.calls.replies import all_lines
from answer_ninja.calls.vocabulary import Language
from answer_ninja.platform.auth.dependencies import caller
from answer_ninja.services.conversation_engine.flows import STATE_ERRORS, CallNotFoundError, ConversationEngine
from answer_ninja.services.conversation_engine.schemas import (
    CALL_ID_PATTERN,
    ClassifyRequest,
    ClassifyResponse,
    EndRequest,
    ManageRequest,
    ManageResponse,
    TemplatesResponse,
)
from answer_ninja.services.conversation_engine.understanding import understand

# Only the voice loop (and the responder's synthetic call) converse; operators may look and classify.
router = APIRouter(
    prefix="/api/v1",
    tags=["conversation"],
    dependencies=[Depends(caller(services=("realtime-processor", "responder"), operators=True))],
)


def engine_of(request: Request) -> ConversationEngine:
    engine: ConversationEngine = request.app.state.engine
    return engine


CallId = Path(pattern=CALL_ID_PATTERN, description="The call's id")


@router.post("/conversation/manage", response_model=ManageResponse, summary="Understand a caller turn and reply")
async def manage(body: ManageRequest, request: Request) -> ManageResponse:
    return await engine_of(request).manage(body)


@router.get("/conversation/templates", response_model=TemplatesResponse, summary="Every template line, by language")
async def templates(language: Language = Query(description="zh-CN or en-US")) -> TemplatesResponse:
    return TemplatesResponse(language=language, replies=all_lines(language))


@router.get("/conversation/{call_id}", summary="State and history of one call")
async def conversation(request: Request, call_id: str = CallId) -> dict[str, Any]:
    try:
        return await engine_of(request).get(call_id)
    except CallNotFoundError:
        raise HTTPException(status_code=404, detail=f"no conversation for call_id {call_id}") from None
    except STATE_ERRORS:
        raise HTTPException(status_code=503, detail="conversation state store unavailable") from None


@router.post("/conversation/{call_id}/end", summary="Close a call with an outcome")
async def end(body: EndRequest, request: Request, call_id: str = CallId) -> dict[str, Any]:
    try:
        return await engine_of(request).end(call_id, body.outcome)
    except CallNotFoundError:
        raise HTTPException(status_code=404, detail=f"no conversation for call_id {call_id}") from None
    except STATE_ERRORS:
        raise HTTPException(status_code=503, detail="conversation state store unavailable") from None


@router.post("/intent/classify", response_model=ClassifyResponse, summary="Intent of one utterance")
async def classify_intent(body: ClassifyRequest) -> ClassifyResponse:
    result = understand(body.text, body.language)
    return ClassifyResponse(
        intent=result.intent,
        confidence=result.confidence,
        language=result.language,
        evidence=list(result.evidence),
        method=result.method,
    )
