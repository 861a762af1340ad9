"""conversation-engine: Understands the caller and answers in a persona; decides when to hang up."""
