"""Replies from an OpenAI-compatible chat API (any server speaking it, or Azure OpenAI), via the official SDK."""

from __future__ import annotations

import asyncio

from openai import AsyncAzureOpenAI, AsyncOpenAI

from answer_ninja.llm.base import ReplyContext
from answer_ninja.llm.prompt import build_messages
from answer_ninja.llm.safety import SENTENCE_END
from answer_ninja.platform.settings import Settings

# The API version the Azure client speaks; chat completions are stable in it.
AZURE_OPENAI_API_VERSION = "2024-10-21"
# Local servers (llama.cpp, vLLM) accept any key; the SDK insists on one being set.
PLACEHOLDER_API_KEY = "not-needed"


class OpenAIChatGenerator:
    """One short chat completion per reply. No retries: a retry cannot fit in the turn's budget."""

    name = "openai"

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        max_tokens: int,
        temperature: float = 0.7,
    ) -> None:
        self.client = client
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature

    async def generate(self, context: ReplyContext, *, timeout: float) -> str:
        """Streamed, and cut at the first sentence: only one sentence is spoken, so the rest is not waited for,
        and closing the stream tells the server to stop generating."""
        stream = await self.client.chat.completions.create(
            model=self.model,
            messages=build_messages(context),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            timeout=timeout,
            stream=True,
        )
        text = ""
        try:
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                    if SENTENCE_END.search(text.lstrip(' "“')):
                        break
        finally:
            await stream.close()
        return text

    async def probe(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            await self.client.models.list(timeout=timeout)

    async def close(self) -> None:
        await self.client.close()


def build_llm_generator(settings: Settings) -> OpenAIChatGenerator | None:
    """The configured LLM: Azure OpenAI when its three settings are set, else LLM_BASE_URL; None = templates only."""
    timeout = max(settings.llm_timeout_seconds, settings.llm_prepare_timeout_seconds)
    if settings.azure_openai_configured:
        assert settings.azure_openai_api_key is not None
        assert settings.azure_openai_deployment is not None
        client: AsyncOpenAI = AsyncAzureOpenAI(
            api_key=settings.azure_openai_api_key.get_secret_value(),
            azure_endpoint=settings.azure_openai_endpoint or "",
            azure_deployment=settings.azure_openai_deployment,
            api_version=AZURE_OPENAI_API_VERSION,
            timeout=timeout,
            max_retries=0,
        )
        model = settings.azure_openai_deployment
    elif settings.llm_base_url:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else PLACEHOLDER_API_KEY
        client = AsyncOpenAI(api_key=key, base_url=settings.llm_base_url, timeout=timeout, max_retries=0)
        model = settings.llm_model
    else:
        return None
    return OpenAIChatGenerator(client, model=model, max_tokens=settings.llm_max_tokens)
