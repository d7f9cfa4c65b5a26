-- xmpp-gateway: Prosody configuration for the gateway's external components (XEP-0114).
--
-- Paste the parts below into /etc/prosody/prosody.cfg.lua (Prosody 0.12), then restart
-- Prosody (`systemctl restart prosody`; a reload may not open new ports). Replace example.org
-- with your domain and each CHANGE-ME with a long random secret, e.g. `openssl rand -hex 32`;
-- put the same secrets in the gateway's config (deploy/config.example.toml: [transports.sms],
-- [transports.irc] and [transports.loopback] secret, or secret_file / environment).
--
-- The component domains need no DNS records for your own users; add them (or not) only if
-- users of other servers should reach the gateway over federation.
--
-- This is the shape that gateway/devstack/prosody.py generates and tests/devstack proves.

---------------------------------------------------------------------------------------------
-- 1. In the global section (above the first VirtualHost / Component line): where components
--    connect. Loopback only: the gateway runs on this machine, and the component handshake is
--    a shared secret over plain TCP, so never expose this port to a network.
---------------------------------------------------------------------------------------------
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }

---------------------------------------------------------------------------------------------
-- 2. One Component section per gateway transport, after your VirtualHost section(s).
--    Prosody accepts ONE connection per component domain (a second one is refused); to run
--    several gateway instances behind one domain, use ejabberd instead.
---------------------------------------------------------------------------------------------
Component "sms.example.org"
    component_secret = "CHANGE-ME-sms-secret"
    -- modules_enabled = { "privilege" }   -- only with the optional step 3

Component "irc.example.org"
    component_secret = "CHANGE-ME-irc-secret"
    -- modules_enabled = { "privilege" }   -- only with the optional step 3

-- The echo transport, to check the server side first (optional: drop it here and in the gateway's config).
Component "loopback.example.org"
    component_secret = "CHANGE-ME-loopback-secret"

---------------------------------------------------------------------------------------------
-- 3. Optional: XEP-0356 (Privileged Entity), so the gateway can put contacts ("Mom" for
--    +14155552671@sms.example.org) straight into users' rosters and send messages on behalf of
--    the server. Needs mod_privilege: on Debian `apt install prosody-modules`, which ships it
--    in /usr/lib/prosody/modules/mod_privilege/ (found without further setup); from a
--    prosody-modules checkout, add its directory to plugin_paths in the global section:
--
--        plugin_paths = { "/usr/lib/prosody/modules/mod_privilege" }
--
--    Then, in YOUR VirtualHost section (the host whose users use the gateway):
--
--        VirtualHost "example.org"
--            modules_enabled = { "privilege" }    -- adds to the global modules_enabled
--            privileged_entities = {
--                ["sms.example.org"] = { roster = "both", message = "outgoing" },
--                ["irc.example.org"] = { roster = "both", message = "outgoing" },
--            }
--
--    and uncomment `modules_enabled = { "privilege" }` in each Component section above (the
--    component host announces the grant to the gateway when it connects).
--    This grants read/write access to EVERY roster on the host: grant it only to a gateway you
--    run and trust. Without it the gateway still works, but cannot edit rosters itself.
---------------------------------------------------------------------------------------------
