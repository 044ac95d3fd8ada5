"""connector: lead scoring outside the CRM, written back into it (see README.md)."""
