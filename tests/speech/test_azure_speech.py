"""Azure Speech up to the SDK boundary: configuration, push-stream recogniser, SSML (the service is unreachable)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import azure.cognitiveservices.speech as speechsdk

from answer_ninja.speech.azure_speech import AzureSpeechToText, AzureTextToSpeech, build_ssml, speech_config

NS = "{http://www.w3.org/2001/10/synthesis}"


def test_ssml_picks_the_neural_voice_and_escapes_text() -> None:
    ssml = build_ssml('不需要 <break/> & "thanks"', "zh-CN")
    root = ET.fromstring(ssml)
    voice = root.find(f"{NS}voice")
    assert voice is not None
    assert voice.get("name") == "zh-CN-XiaoxiaoNeural"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    prosody = voice.find(f"{NS}prosody")
    assert prosody is not None
    assert prosody.text == '不需要 <break/> & "thanks"'  # text, not markup
    english = ET.fromstring(build_ssml("hi", "en-US")).find(f"{NS}voice")
    assert english is not None
    assert english.get("name") == "en-US-JennyNeural"


def test_config_asks_for_16k_pcm() -> None:
    config = speech_config("not-a-real-key", "westeurope")
    assert config.region == "westeurope"
    assert config.output_format == speechsdk.OutputFormat.Simple
    output = config.get_property(speechsdk.PropertyId.SpeechServiceConnection_SynthOutputFormat)
    assert output == "raw-16khz-16bit-mono-pcm"


def test_recognizer_reads_from_a_push_stream_in_the_call_language() -> None:
    stt = AzureSpeechToText("not-a-real-key", "westeurope")
    recognizer, push = stt.build_recognizer("zh-CN")
    assert isinstance(recognizer, speechsdk.SpeechRecognizer)
    assert isinstance(push, speechsdk.audio.PushAudioInputStream)
    assert recognizer.properties.get_property(speechsdk.PropertyId.SpeechServiceConnection_RecoLanguage) == "zh-CN"
    push.write(bytes(640))
    push.close()


def test_synthesizer_builds_without_a_speaker() -> None:
    tts = AzureTextToSpeech("not-a-real-key", "westeurope")
    assert isinstance(tts.build_synthesizer(), speechsdk.SpeechSynthesizer)
