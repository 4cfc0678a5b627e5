"""Who answers in a realtime session: ``echo`` repeats what it heard; ``ChatAgent`` asks an
operator's OpenAI-compatible chat endpoint and streams its reply (server-sent events)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import httpx

from voxclone.config import AgentSettings
from voxclone.core.errors import EngineUnavailable, ProviderError, ProviderTimeout

ECHO = "echo"


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation as the answerer sees it."""

    role: str
    """user, assistant or system."""
    text: str


class Answerer(Protocol):
    name: str

    def reply(
        self, turns: list[Turn], *, instructions: str, temperature: float, max_tokens: int | None
    ) -> AsyncIterator[str]:
        """The answer's text, a piece at a time."""
        ...


class Echo:
    """Repeats the last thing the user said (the quickest way to hear a voice)."""

    name = ECHO

    async def reply(
        self, turns: list[Turn], *, instructions: str, temperature: float, max_tokens: int | None
    ) -> AsyncIterator[str]:
        for turn in reversed(turns):
            if turn.role == "user":
                if turn.text.strip():
                    yield turn.text.strip()
                return


class ChatAgent:
    """``POST {llm_url}/chat/completions`` with ``stream: true``; each ``delta.content`` is
    yielded as it arrives."""

    name = "agent"

    def __init__(self, settings: AgentSettings, client: httpx.AsyncClient) -> None:
        if not settings.llm_url:
            raise EngineUnavailable(
                "no language model is configured (VOXCLONE_AGENT__LLM_URL); use model=echo",
                backend="agent",
            )
        url = settings.llm_url.rstrip("/")
        self._url = url if url.endswith("/chat/completions") else f"{url}/chat/completions"
        self._settings = settings
        self._client = client

    async def reply(
        self, turns: list[Turn], *, instructions: str, temperature: float, max_tokens: int | None
    ) -> AsyncIterator[str]:
        settings = self._settings
        messages = [{"role": "system", "content": settings.system_prompt}]
        if instructions.strip():
            messages.append({"role": "system", "content": instructions})
        messages += [{"role": t.role, "content": t.text} for t in turns if t.text.strip()]
        body = {
            "model": settings.model,
            "messages": messages,
            "stream": True,
            "temperature": temperature,
            "max_tokens": min(max_tokens or settings.max_tokens, settings.max_tokens),
        }
        headers = {"Accept": "text/event-stream"}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        try:
            async with self._client.stream(
                "POST", self._url, json=body, headers=headers, timeout=settings.timeout_s
            ) as response:
                if response.status_code != 200:
                    detail = (await response.aread())[:300].decode("utf-8", "replace")
                    raise ProviderError(
                        f"the language model answered {response.status_code}: {detail}",
                        backend="agent",
                        status=response.status_code,
                    )
                async for line in response.aiter_lines():
                    text = _delta(line)
                    if text is None:
                        break
                    if text:
                        yield text
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(
                f"the language model did not answer within {settings.timeout_s:g} s",
                backend="agent",
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"the language model could not be reached: {exc}", backend="agent"
            ) from exc


def _delta(line: str) -> str | None:
    """The text of one SSE line ("" for lines without any); None at ``data: [DONE]``."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        event = json.loads(data)
        content = event["choices"][0].get("delta", {}).get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""
    return content if isinstance(content, str) else ""
