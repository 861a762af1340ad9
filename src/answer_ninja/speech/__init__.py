"""Speech providers behind small interfaces: VAD, speech-to-text, text-to-speech (local and Azure)."""
