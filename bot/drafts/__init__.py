"""Reply drafts: composed from a brand's playbook, approved by people, published to the source."""
