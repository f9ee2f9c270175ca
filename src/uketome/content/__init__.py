"""The children's portal content: pages (with revisions) and news, edited by the secretariat."""
