"""Carrier wire protocols: Twilio webhooks and Media Streams, ACS events and media streaming, codecs."""
