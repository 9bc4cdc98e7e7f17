// Placeholder: the pages engineer owns this file. Protocol: docs/web-protocol.md
