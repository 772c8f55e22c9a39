"""CRM, marketing-automation and analytics destinations (issue 16): the interface in `base`, one
module per platform beside it."""
