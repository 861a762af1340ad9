"""Azure Speech through its official SDK: recognition from a push stream, neural voices from SSML.

Unreachable from here: the code is exercised up to the SDK boundary (configuration, push-stream format, SSML).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from answer_ninja.speech.base import SpeechProviderError

# Neural voices for the languages we answer in.
AZURE_VOICES = {"zh-CN": "zh-CN-XiaoxiaoNeural", "en-US": "en-US-JennyNeural"}
# Read SDK audio in chunks this big (100 ms of 16 kHz PCM16): the first one goes out while the rest is synthesised.
_CHUNK_BYTES = 3200


def build_ssml(text: str, language: str, *, voice: str | None = None, rate: str = "+0%") -> str:
    """SSML for one reply; ``text`` is escaped, so a caller's words can never inject markup."""
    chosen = voice or AZURE_VOICES.get(language, AZURE_VOICES["en-US"])
    return (
        f'<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang={quoteattr(language)}>'
        f"<voice name={quoteattr(chosen)}><prosody rate={quoteattr(rate)}>{escape(text)}</prosody></voice></speak>"
    )


def _sdk() -> Any:
    try:
        import azure.cognitiveservices.speech as speechsdk
    except ImportError as error:
        raise SpeechProviderError(f"azure-cognitiveservices-speech is not installed: {error}") from None
    return speechsdk


def speech_config(key: str, region: str) -> Any:
    speechsdk = _sdk()
    config = speechsdk.SpeechConfig(subscription=key, region=region)
    config.set_speech_synthesis_output_format(speechsdk.SpeechSynthesisOutputFormat.Raw16Khz16BitMonoPcm)
    return config


class AzureSpeechToText:
    name = "azure-stt"

    def __init__(self, key: str, region: str) -> None:
        self._sdk = _sdk()
        self._config = speech_config(key, region)

    def build_recognizer(self, language: str) -> tuple[Any, Any]:
        """A recogniser reading PCM16 16 kHz mono from a push stream we write the call's audio into."""
        stream_format = self._sdk.audio.AudioStreamFormat(samples_per_second=16000, bits_per_sample=16, channels=1)
        push = self._sdk.audio.PushAudioInputStream(stream_format=stream_format)
        audio_config = self._sdk.audio.AudioConfig(stream=push)
        recognizer = self._sdk.SpeechRecognizer(
            speech_config=self._config, language=language, audio_config=audio_config
        )
        return recognizer, push

    def _recognize(self, pcm: bytes, language: str) -> str:
        recognizer, push = self.build_recognizer(language)
        push.write(pcm)
        push.close()
        result = recognizer.recognize_once_async().get()
        if result.reason == self._sdk.ResultReason.RecognizedSpeech:
            return str(result.text)
        if result.reason == self._sdk.ResultReason.NoMatch:
            return ""
        details = getattr(result, "cancellation_details", None)
        raise SpeechProviderError(f"Azure recognition failed: {getattr(details, 'error_details', result.reason)}")

    async def transcribe(self, pcm: bytes, language: str) -> str:
        return await asyncio.to_thread(self._recognize, pcm, language)


class AzureTextToSpeech:
    name = "azure-tts"

    def __init__(self, key: str, region: str) -> None:
        self._sdk = _sdk()
        self._config = speech_config(key, region)

    def build_synthesizer(self) -> Any:
        return self._sdk.SpeechSynthesizer(speech_config=self._config, audio_config=None)

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        synthesizer = self.build_synthesizer()
        ssml = build_ssml(text, language)
        result = await asyncio.to_thread(lambda: synthesizer.start_speaking_ssml_async(ssml).get())
        if result.reason == self._sdk.ResultReason.Canceled:
            details = getattr(result, "cancellation_details", None)
            raise SpeechProviderError(f"Azure synthesis failed: {getattr(details, 'error_details', 'canceled')}")
        stream = self._sdk.AudioDataStream(result)
        while True:
            buffer = bytes(_CHUNK_BYTES)
            filled = await asyncio.to_thread(stream.read_data, buffer)
            if not filled:
                return
            yield buffer[:filled]
