"""Channel senders: each a real protocol client behind one small interface (`Sender`)."""
