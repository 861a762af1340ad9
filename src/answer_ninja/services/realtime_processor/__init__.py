"""realtime-processor: carries the call's audio: VAD, speech-to-text, reply, text-to-speech, barge-in."""
