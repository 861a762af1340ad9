"""Reply generators: templates (default) and OpenAI-compatible / Azure OpenAI chat, with fallback."""
