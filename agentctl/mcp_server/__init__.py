"""`agentctl mcp`: the team's checks, routing, memory and budgeted dispatch as MCP tools over stdio.

    calls.py     what each tool does, as plain calls over the core (no MCP SDK: testable, print-free);
                 every path argument resolved inside the root, every text bounded as on the command line
    spending.py  the server's dispatch caps: what every dispatch of one server may spend together
    app.py       the MCP server itself (the `mcp` SDK, imported here and nowhere else): tools with
                 typed inputs, structured results, errors as tool errors, progress, resources

Only `agentctl.cli.mcp_cmd` imports app.py, and only when `agentctl mcp` runs: the SDK's import
(about 1.3 s) never reaches the read-only commands' start-up budget.
"""
