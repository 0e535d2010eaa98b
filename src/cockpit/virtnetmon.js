/*
 * virtnetmon's Cockpit page.
 *
 * Reads virtnetmond through cockpit.dbus on the system bus, following the
 * D-Bus contract in dbus/org.virtnetmon.Monitor1.xml:
 *  - the VMs and their interfaces' counters and rates are the
 *    org.virtnetmon.Domain1 objects of the ObjectManager at
 *    /org/virtnetmon/Monitor1, kept current by PropertiesChanged (no polling);
 *  - history, flows, latency, drops and the topology are method calls on
 *    org.virtnetmon.Monitor1, made again when the VMs' rates change (once per
 *    daemon interval, at most every REFRESH_MS).
 * Pages (cockpit.location): [] overview, ["vm", NAME] one VM, ["topology"].
 */
(function () {
    "use strict";

    const _ = cockpit.gettext;
    const N_ = s => s;

    const BUS_NAME = "org.virtnetmon.Monitor1";
    const ROOT = "/org/virtnetmon/Monitor1";
    const MONITOR = "org.virtnetmon.Monitor1";
    const DOMAIN = "org.virtnetmon.Domain1";
    const REFRESH_MS = 2000;
    const CHART_SECONDS = 300;
    const SVG_NS = "http://www.w3.org/2000/svg";

    /* ---------- formatting ---------- */

    function fmtNumber(v, digits) {
        return Number(v || 0).toLocaleString(cockpit.language, {
            minimumFractionDigits: digits, maximumFractionDigits: digits
        });
    }

    /* Bit rates arrive in Mbit/s; shown in the unit that suits them. */
    function fmtMbps(mbps) {
        mbps = Number(mbps || 0);
        if (mbps >= 1000)
            return cockpit.format(_("$0 Gbit/s"), fmtNumber(mbps / 1000, 2));
        if (mbps >= 1)
            return cockpit.format(_("$0 Mbit/s"), fmtNumber(mbps, 2));
        return cockpit.format(_("$0 kbit/s"), fmtNumber(mbps * 1000, 1));
    }

    function fmtBytes(n) {
        n = Number(n || 0);
        const units = [N_("B"), N_("kB"), N_("MB"), N_("GB"), N_("TB")];
        let i = 0;
        while (n >= 1000 && i < units.length - 1) {
            n /= 1000;
            i++;
        }
        return fmtNumber(n, i === 0 ? 0 : 1) + " " + _(units[i]);
    }

    function fmtUs(us, samples) {
        if (samples === 0 || us === undefined || us === null)
            return "–";
        us = Number(us);
        if (us >= 1000)
            return cockpit.format(_("$0 ms"), fmtNumber(us / 1000, 2));
        return cockpit.format(_("$0 µs"), fmtNumber(us, 0));
    }

    function fmtRate(v) {
        return fmtNumber(v, 0);
    }

    /* cockpit.dbus hands variants over as {t, v}; the page wants plain values. */
    function plain(x) {
        if (Array.isArray(x))
            return x.map(plain);
        if (x && typeof x === "object") {
            const keys = Object.keys(x);
            if (keys.length === 2 && "t" in x && "v" in x)
                return plain(x.v);
            const out = {};
            for (const k of keys)
                out[k] = plain(x[k]);
            return out;
        }
        return x;
    }

    function variantOptions(obj) {
        const out = {};
        for (const k in obj) {
            const v = obj[k];
            if (typeof v === "string")
                out[k] = cockpit.variant("s", v);
            else if (typeof v === "boolean")
                out[k] = cockpit.variant("b", v);
            else
                out[k] = cockpit.variant("u", v);
        }
        return out;
    }

    /* ---------- DOM helpers ---------- */

    function el(tag, attrs, ...children) {
        const node = document.createElement(tag);
        for (const k in attrs || {}) {
            if (k === "class")
                node.className = attrs[k];
            else if (k.startsWith("on"))
                node.addEventListener(k.slice(2), attrs[k]);
            else if (attrs[k] !== undefined && attrs[k] !== null)
                node.setAttribute(k, attrs[k]);
        }
        for (const c of children.flat(Infinity)) {
            if (c === null || c === undefined)
                continue;
            node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
        }
        return node;
    }

    function svg(tag, attrs, ...children) {
        const node = document.createElementNS(SVG_NS, tag);
        for (const k in attrs || {}) {
            if (k.startsWith("on"))
                node.addEventListener(k.slice(2), attrs[k]);
            else
                node.setAttribute(k, attrs[k]);
        }
        for (const c of children.flat(Infinity))
            if (c !== null && c !== undefined)
                node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
        return node;
    }

    function card(title, id, ...body) {
        return el("article", { class: "pf-c-card vnm-card", id },
                  el("div", { class: "pf-c-card__title" },
                     el("h2", { class: "pf-c-title pf-m-lg" }, title)),
                  el("div", { class: "pf-c-card__body" }, ...body));
    }

    function emptyState(reason, title, text, extra) {
        return el("div", { class: "pf-c-empty-state vnm-empty", id: "vnm-empty", "data-reason": reason },
                  el("div", { class: "pf-c-empty-state__content" },
                     el("h1", { class: "pf-c-title pf-m-lg" }, title),
                     el("div", { class: "pf-c-empty-state__body" }, text),
                     extra || null));
    }

    function smallNote(reason, text) {
        return el("p", { class: "vnm-note", "data-reason": reason }, text);
    }

    /* A PatternFly table: columns [{key, label, numeric, sortable}], rows of
     * cells {text, value, node}. */
    function table(id, columns, label, sort, onSort) {
        const head = el("tr", { role: "row" }, columns.map(c => {
            /* pf-m-nowrap: PatternFly truncates header cells otherwise. */
            const cls = ["pf-c-table__sort pf-m-nowrap", c.numeric ? "vnm-num" : "",
                sort && sort.key === c.key ? "pf-m-selected" : ""].join(" ");
            if (!onSort || c.sortable === false)
                return el("th", { role: "columnheader", scope: "col", "data-col": c.key, class: "pf-m-nowrap" + (c.numeric ? " vnm-num" : "") }, c.label);
            const dir = sort && sort.key === c.key ? (sort.asc ? "ascending" : "descending") : "none";
            return el("th", { role: "columnheader", scope: "col", "data-col": c.key, class: cls, "aria-sort": dir },
                      el("button", { class: "pf-c-table__button", type: "button", onclick: () => onSort(c.key) },
                         el("div", { class: "pf-c-table__button-content" },
                            el("span", { class: "pf-c-table__text" }, c.label),
                            el("span", { class: "pf-c-table__sort-indicator", "aria-hidden": "true" },
                               dir === "ascending" ? "▲" : dir === "descending" ? "▼" : "⇅"))));
        }));
        return el("table", { class: "pf-c-table pf-m-compact pf-m-grid-md", role: "grid", id, "aria-label": label },
                  el("thead", {}, head), el("tbody", { role: "rowgroup" }));
    }

    function fillTable(tbl, columns, rows, rowAttrs) {
        const tbody = tbl.querySelector("tbody");
        tbody.replaceChildren(...rows.map((row, i) => el("tr", Object.assign({ role: "row" }, rowAttrs ? rowAttrs(row, i) : {}),
            columns.map(c => {
                const cell = c.cell(row);
                return el("td", {
                    role: "gridcell",
                    "data-label": c.label,
                    "data-col": c.key,
                    "data-value": cell.value !== undefined ? String(cell.value) : undefined,
                    class: c.numeric ? "vnm-num" : "",
                    title: cell.title
                }, cell.node || cell.text);
            }))));
        tbl.dataset.updated = String(Number(tbl.dataset.updated || 0) + 1);
    }

    /* ---------- connection to virtnetmond ---------- */

    const conn = {
        client: null,
        monitor: null,
        domains: null,
        owner: undefined, /* undefined: not known yet; null: no daemon */
        problem: null,
    };
    let retryTimer = null;

    function connect() {
        if (conn.client)
            conn.client.close();
        conn.problem = null;
        conn.owner = undefined;
        const client = cockpit.dbus(BUS_NAME, { bus: "system" });
        conn.client = client;
        conn.monitor = client.proxy(MONITOR, ROOT);
        conn.domains = client.proxies(DOMAIN, ROOT);
        client.addEventListener("owner", (ev, owner) => {
            if (client !== conn.client)
                return;
            const previous = conn.owner;
            conn.owner = owner;
            if (owner && previous && previous !== owner) {
                /* The daemon restarted: start afresh so nothing of the old one lingers. */
                connect();
                return;
            }
            if (owner && previous === null) {
                connect();
                return;
            }
            view.changed(true);
        });
        client.addEventListener("close", (ev, options) => {
            if (client !== conn.client)
                return;
            conn.problem = options.message || cockpit.message(options);
            conn.owner = null;
            view.changed(true);
            clearTimeout(retryTimer);
            retryTimer = setTimeout(connect, 5000);
        });
        conn.monitor.addEventListener("changed", () => view.changed(false));
        conn.domains.addEventListener("added", () => view.changed(true));
        conn.domains.addEventListener("removed", () => view.changed(true));
        conn.domains.addEventListener("changed", () => view.changed(false));
        conn.monitor.wait(() => view.changed(true));
        view.changed(true);
    }

    function call(method, args) {
        return conn.client.call(ROOT, MONITOR, method, args).then(reply => reply.map(plain));
    }

    function daemonUp() {
        return conn.owner && conn.monitor && conn.monitor.valid;
    }

    function domainList() {
        const out = [];
        for (const path in conn.domains || {}) {
            const p = conn.domains[path];
            if (!p || !p.valid || p.Name === undefined)
                continue;
            out.push({
                path,
                name: p.Name,
                uuid: p.Uuid,
                id: p.Id,
                state: p.State,
                mappedBy: p.MappedBy,
                interfaces: plain(p.Interfaces || []),
                stats: plain(p.InterfaceStats || []),
                rates: plain(p.Rates || {}),
            });
        }
        out.sort((a, b) => a.name.localeCompare(b.name));
        return out;
    }

    function findDomain(name) {
        return domainList().find(d => d.name === name || d.uuid === name);
    }

    function errorText(e) {
        return (e && (e.message || e.problem)) ? (e.message || e.problem) : String(e);
    }

    /* ---------- overview ---------- */

    const overviewColumns = [
        { key: "iface", label: _("Interface"), cell: r => ({ text: r.iface, value: r.iface }) },
        {
            key: "vm_name", label: _("VM"),
            cell: r => ({
                value: r.vm_name,
                node: el("a", { href: "#", class: "vnm-vm-link", onclick: ev => { ev.preventDefault(); cockpit.location.go(["vm", r.vm_name]) } }, r.vm_name)
            })
        },
        { key: "vm_id", label: _("ID"), cell: r => ({ text: r.vm_id >= 0 ? String(r.vm_id) : "–", value: r.vm_id }) },
        { key: "state", label: _("State"), cell: r => ({ text: r.state, value: r.state }) },
        { key: "rx_mbps", label: _("RX"), numeric: true, cell: r => ({ text: fmtMbps(r.rx_mbps), value: r.rx_mbps }) },
        { key: "tx_mbps", label: _("TX"), numeric: true, cell: r => ({ text: fmtMbps(r.tx_mbps), value: r.tx_mbps }) },
        { key: "rx_pps", label: _("RX pkt/s"), numeric: true, cell: r => ({ text: fmtRate(r.rx_pps), value: r.rx_pps }) },
        { key: "tx_pps", label: _("TX pkt/s"), numeric: true, cell: r => ({ text: fmtRate(r.tx_pps), value: r.tx_pps }) },
        { key: "rx_errors_ps", label: _("RX err/s"), numeric: true, cell: r => ({ text: fmtRate(r.rx_errors_ps), value: r.rx_errors_ps }) },
        { key: "tx_errors_ps", label: _("TX err/s"), numeric: true, cell: r => ({ text: fmtRate(r.tx_errors_ps), value: r.tx_errors_ps }) },
        { key: "rx_drops_ps", label: _("RX drop/s"), numeric: true, cell: r => ({ text: fmtRate(r.rx_drops_ps), value: r.rx_drops_ps }) },
        { key: "tx_drops_ps", label: _("TX drop/s"), numeric: true, cell: r => ({ text: fmtRate(r.tx_drops_ps), value: r.tx_drops_ps }) },
    ];

    const overviewState = { sort: { key: "tx_mbps", asc: false }, filter: "" };

    function overviewRows() {
        const rows = [];
        for (const d of domainList())
            for (const s of d.stats)
                rows.push(Object.assign({}, s, { vm_name: d.name, vm_uuid: d.uuid, vm_id: d.id }));
        const f = overviewState.filter.trim().toLowerCase();
        const kept = f ? rows.filter(r => [r.iface, r.vm_name, String(r.vm_id), r.mac].some(x => String(x).toLowerCase().includes(f))) : rows;
        const { key, asc } = overviewState.sort;
        kept.sort((a, b) => {
            const x = a[key], y = b[key];
            const c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
            return (asc ? c : -c) || a.iface.localeCompare(b.iface);
        });
        return { rows: kept, total: rows.length };
    }

    const overviewPage = {
        build(main) {
            const filter = el("input", {
                class: "pf-c-form-control", type: "search", id: "vnm-filter",
                placeholder: _("Filter by interface, VM name or ID"), "aria-label": _("Filter"),
                oninput: ev => { overviewState.filter = ev.target.value; this.update() }
            });
            filter.value = overviewState.filter;
            this.count = el("span", { class: "vnm-count", id: "vnm-count" });
            this.tableHolder = el("div", { class: "vnm-table-holder" });
            main.append(
                el("div", { class: "pf-c-toolbar" },
                   el("div", { class: "pf-c-toolbar__content" },
                      el("div", { class: "pf-c-toolbar__content-section" },
                         el("div", { class: "pf-c-toolbar__item pf-m-search-filter" }, filter),
                         el("div", { class: "pf-c-toolbar__item" }, this.count)))),
                card(_("VM interfaces"), "vnm-overview-card", this.tableHolder));
            this.buildTable();
        },
        buildTable() {
            this.table = table("vnm-overview-table", overviewColumns, _("VM interfaces"), overviewState.sort, key => {
                const s = overviewState.sort;
                overviewState.sort = { key, asc: s.key === key ? !s.asc : ["iface", "vm_name", "state", "vm_id"].includes(key) };
                this.buildTable();
                this.update();
            });
            this.tableHolder.replaceChildren(this.table);
        },
        update() {
            const { rows, total } = overviewRows();
            fillTable(this.table, overviewColumns, rows, r => ({ "data-iface": r.iface, "data-vm": r.vm_name }));
            this.count.textContent = rows.length === total
                ? cockpit.format(cockpit.ngettext("$0 interface", "$0 interfaces", total), total)
                : cockpit.format(_("$0 of $1 interfaces"), rows.length, total);
        },
        refresh() {},
    };

    /* ---------- one VM ---------- */

    const ifaceColumns = [
        { key: "iface", label: _("Interface"), cell: r => ({ text: r.iface || "–", value: r.iface }) },
        { key: "mac", label: _("MAC"), cell: r => ({ text: r.mac, value: r.mac }) },
        { key: "type", label: _("Type"), cell: r => ({ text: r.type, value: r.type }) },
        // A macvtap (type direct): its mode after the source, the lower device on hover.
        { key: "source", label: _("Source"), cell: r => ({ text: (r.source || "–") + (r.source_mode ? " (" + r.source_mode + ")" : ""), value: r.source, title: r.source_dev ? cockpit.format(_("Lower device: $0"), r.source_dev) : undefined }) },
        { key: "model", label: _("Model"), cell: r => ({ text: r.model || "–", value: r.model }) },
        { key: "state", label: _("State"), cell: r => ({ text: r.state || (r.no_stats_reason ? _("no host device") : "–"), value: r.state, title: r.no_stats_reason }) },
        { key: "rx_bytes", label: _("RX bytes"), numeric: true, cell: r => ({ text: r.has ? fmtBytes(r.rx_bytes) : "–", value: r.rx_bytes, title: r.has ? String(r.rx_bytes) : undefined }) },
        { key: "rx_packets", label: _("RX packets"), numeric: true, cell: r => ({ text: r.has ? fmtNumber(r.rx_packets, 0) : "–", value: r.rx_packets }) },
        { key: "rx_errors", label: _("RX errors"), numeric: true, cell: r => ({ text: r.has ? fmtNumber(r.rx_errors, 0) : "–", value: r.rx_errors }) },
        { key: "rx_drops", label: _("RX drops"), numeric: true, cell: r => ({ text: r.has ? fmtNumber(r.rx_drops, 0) : "–", value: r.rx_drops }) },
        { key: "tx_bytes", label: _("TX bytes"), numeric: true, cell: r => ({ text: r.has ? fmtBytes(r.tx_bytes) : "–", value: r.tx_bytes, title: r.has ? String(r.tx_bytes) : undefined }) },
        { key: "tx_packets", label: _("TX packets"), numeric: true, cell: r => ({ text: r.has ? fmtNumber(r.tx_packets, 0) : "–", value: r.tx_packets }) },
        { key: "tx_errors", label: _("TX errors"), numeric: true, cell: r => ({ text: r.has ? fmtNumber(r.tx_errors, 0) : "–", value: r.tx_errors }) },
        { key: "tx_drops", label: _("TX drops"), numeric: true, cell: r => ({ text: r.has ? fmtNumber(r.tx_drops, 0) : "–", value: r.tx_drops }) },
        { key: "rx_mbps", label: _("RX rate"), numeric: true, cell: r => ({ text: r.has ? fmtMbps(r.rx_mbps) : "–", value: r.rx_mbps }) },
        { key: "tx_mbps", label: _("TX rate"), numeric: true, cell: r => ({ text: r.has ? fmtMbps(r.tx_mbps) : "–", value: r.tx_mbps }) },
    ];

    const flowColumns = [
        { key: "remote", label: _("IP/port"), cell: r => ({ text: endpoint(r.remote_ip, r.remote_port, r.proto), value: endpoint(r.remote_ip, r.remote_port, r.proto) }) },
        { key: "remote_kind", label: _("Peer"), cell: r => ({ text: peerText(r), value: r.remote_kind }) },
        { key: "local_port", label: _("Local port"), cell: r => ({ text: r.proto === "icmp" ? "–" : r.local_port >= 0 ? String(r.local_port) : "*", value: r.local_port }) },
        { key: "proto", label: _("Protocol"), cell: r => ({ text: r.proto.toUpperCase(), value: r.proto }) },
        { key: "initiator", label: _("Opened by"), cell: r => ({ text: initiatorText(r.initiator), value: r.initiator }) },
        { key: "tx_bytes", label: _("Sent"), numeric: true, cell: r => ({ text: fmtBytes(r.tx_bytes), value: r.tx_bytes, title: String(r.tx_bytes) }) },
        { key: "rx_bytes", label: _("Received"), numeric: true, cell: r => ({ text: fmtBytes(r.rx_bytes), value: r.rx_bytes, title: String(r.rx_bytes) }) },
        { key: "rtt_avg_us", label: _("TCP delay"), numeric: true, cell: r => ({ text: fmtUs(r.rtt_avg_us, r.rtt_samples), value: r.rtt_avg_us, title: r.rtt_samples ? cockpit.format(_("min $0, max $1, $2 samples"), fmtUs(r.rtt_min_us), fmtUs(r.rtt_max_us), r.rtt_samples) : undefined }) },
        { key: "jitter_us", label: _("Jitter"), numeric: true, cell: r => ({ text: fmtUs(r.jitter_us, r.rtt_samples), value: r.jitter_us }) },
        { key: "tcp_conns_opened", label: _("Connections"), numeric: true, cell: r => ({ text: r.proto === "tcp" ? fmtNumber(r.tcp_conns_opened, 0) : "–", value: r.tcp_conns_opened }) },
        { key: "tcp_retrans", label: _("Retransmissions"), numeric: true, cell: r => ({ text: r.proto === "tcp" ? fmtNumber(r.tcp_retrans, 0) : "–", value: r.tcp_retrans }) },
        { key: "tcp_conns_closed", label: _("Closures"), numeric: true, cell: r => ({ text: r.proto === "tcp" ? fmtNumber(r.tcp_conns_closed, 0) : "–", value: r.tcp_conns_closed, title: r.proto === "tcp" ? cockpit.format(_("$0 reset"), r.tcp_resets) : undefined }) },
    ];

    const latencyColumns = [
        { key: "direction", label: _("Direction"), cell: r => ({ text: r.direction === "tx" ? _("from the VM") : _("to the VM"), value: r.direction }) },
        { key: "stage", label: _("Stage"), cell: r => ({ text: stageText(r.stage), value: r.stage }) },
        { key: "packets", label: _("Packets"), numeric: true, cell: r => ({ text: fmtNumber(r.packets, 0), value: r.packets }) },
        { key: "min_us", label: _("Min"), numeric: true, cell: r => ({ text: fmtUs(r.min_us), value: r.min_us }) },
        { key: "p50_us", label: "P50", numeric: true, cell: r => ({ text: fmtUs(r.p50_us), value: r.p50_us }) },
        { key: "p90_us", label: "P90", numeric: true, cell: r => ({ text: fmtUs(r.p90_us), value: r.p90_us }) },
        { key: "p99_us", label: "P99", numeric: true, cell: r => ({ text: fmtUs(r.p99_us), value: r.p99_us }) },
        { key: "p999_us", label: "P99.9", numeric: true, cell: r => ({ text: fmtUs(r.p999_us), value: r.p999_us }) },
        { key: "max_us", label: _("Max"), numeric: true, cell: r => ({ text: fmtUs(r.max_us), value: r.max_us }) },
    ];

    /* What the other end is: another VM of this host, the host, or a remote. */
    function peerText(r) {
        if (r.remote_kind === "vm")
            return cockpit.format(_("VM $0"), r.remote_name);
        if (r.remote_kind === "host")
            return cockpit.format(_("this host ($0)"), r.remote_name);
        /* A remote the VM itself looked up (a DNS answer to it). */
        if (r.remote_kind === "remote" && r.remote_name)
            return cockpit.format(_("$0 (its DNS lookup)"), r.remote_name);
        return r.remote_kind === "remote" ? "" : r.remote_kind || "";
    }

    const sourceTexts = {
        learned: _("seen in its traffic"),
        lease: _("DHCP lease"),
        arp: _("host's ARP table"),
        agent: _("guest agent"),
    };

    function agoText(when) {
        const s = Math.max(0, Date.now() / 1000 - when);
        if (s < 120)
            return cockpit.format(_("$0 s ago"), s.toFixed(0));
        if (s < 7200)
            return cockpit.format(_("$0 min ago"), (s / 60).toFixed(0));
        return cockpit.format(_("$0 h ago"), (s / 3600).toFixed(0));
    }

    const addressColumns = [
        { key: "address", label: _("Address"), cell: r => ({ text: r.prefix >= 0 ? r.address + "/" + r.prefix : r.address, value: r.address }) },
        { key: "family", label: _("Protocol"), cell: r => ({ text: r.family, value: r.family }) },
        { key: "iface", label: _("Interface"), cell: r => ({ text: r.iface, value: r.iface, title: r.mac }) },
        { key: "source", label: _("Source"), cell: r => ({ text: sourceTexts[r.source] || r.source, value: r.source, title: r.via || undefined }) },
        { key: "last_seen", label: _("Last seen"), numeric: true, cell: r => ({ text: agoText(r.last_seen), value: r.last_seen }) },
    ];

    const dropColumns = [
        { key: "reason", label: _("Reason"), cell: r => ({ text: r.reason, value: r.reason, title: String(r.reason_code) }) },
        { key: "direction", label: _("Direction"), cell: r => ({ text: r.direction === "tx" ? _("from the VM") : _("to the VM"), value: r.direction }) },
        { key: "iface", label: _("Interface"), cell: r => ({ text: r.iface, value: r.iface }) },
        { key: "packets", label: _("Packets"), numeric: true, cell: r => ({ text: fmtNumber(r.packets, 0), value: r.packets }) },
    ];

    const connStateColumns = [
        { key: "initiator", label: _("Opened by"), cell: r => ({ text: initiatorText(r.initiator), value: r.initiator }) },
        { key: "syn_sent", label: _("SYN sent"), numeric: true, cell: r => ({ text: fmtNumber(r.syn_sent, 0), value: r.syn_sent, title: _("Half-open: SYN seen, no answer") }) },
        { key: "syn_received", label: _("SYN-ACK seen"), numeric: true, cell: r => ({ text: fmtNumber(r.syn_received, 0), value: r.syn_received, title: _("Half-open: SYN-ACK seen, no final ACK yet") }) },
        { key: "established", label: _("Established"), numeric: true, cell: r => ({ text: fmtNumber(r.established, 0), value: r.established }) },
        { key: "closing", label: _("Closing"), numeric: true, cell: r => ({ text: fmtNumber(r.closing, 0), value: r.closing, title: _("FIN seen one way") }) },
        { key: "closed", label: _("Closed"), numeric: true, cell: r => ({ text: fmtNumber(r.closed, 0), value: r.closed }) },
        { key: "reset", label: _("Reset"), numeric: true, cell: r => ({ text: fmtNumber(r.reset, 0), value: r.reset }) },
        { key: "handshake_refused", label: _("Refused"), numeric: true, cell: r => ({ text: fmtNumber(r.handshake_refused, 0), value: r.handshake_refused, title: _("Handshakes a RST answered, since the probe attached") }) },
        { key: "handshake_timed_out", label: _("Timed out"), numeric: true, cell: r => ({ text: fmtNumber(r.handshake_timed_out, 0), value: r.handshake_timed_out, title: _("SYNs sent again with no answer, since the probe attached") }) },
    ];

    const failureColumns = [
        { key: "remote_ip", label: _("Remote"), cell: r => ({ text: r.remote_ip, value: r.remote_ip }) },
        { key: "port", label: _("Port"), cell: r => { const p = r.initiator === "vm" ? r.remote_port : r.local_port; return { text: String(p), value: p } } },
        { key: "initiator", label: _("Opened by"), cell: r => ({ text: initiatorText(r.initiator), value: r.initiator }) },
        { key: "refused", label: _("Refused"), numeric: true, cell: r => ({ text: fmtNumber(r.refused, 0), value: r.refused }) },
        { key: "timed_out", label: _("Timed out"), numeric: true, cell: r => ({ text: fmtNumber(r.timed_out, 0), value: r.timed_out }) },
    ];

    const serviceColumns = [
        { key: "service", label: _("Service"), cell: r => ({ text: r.proto.toUpperCase() + " " + r.port, value: r.proto + "/" + r.port }) },
        { key: "clients", label: _("Clients"), numeric: true, cell: r => ({ text: (r.clients_untracked ? "> " : "") + fmtNumber(r.clients, 0), value: r.clients }) },
        { key: "connections", label: _("Connections"), numeric: true, cell: r => ({ text: fmtNumber(r.connections, 0), value: r.connections }) },
        { key: "rx_bytes", label: _("Received"), numeric: true, cell: r => ({ text: fmtBytes(r.rx_bytes), value: r.rx_bytes, title: String(r.rx_bytes) }) },
        { key: "tx_bytes", label: _("Sent"), numeric: true, cell: r => ({ text: fmtBytes(r.tx_bytes), value: r.tx_bytes, title: String(r.tx_bytes) }) },
        { key: "first_seen", label: _("First seen"), cell: r => ({ text: new Date(r.first_seen * 1000).toLocaleString(cockpit.language), value: r.first_seen }) },
        { key: "last_seen", label: _("Last seen"), cell: r => ({ text: new Date(r.last_seen * 1000).toLocaleString(cockpit.language), value: r.last_seen }) },
    ];

    /* ICMP has no ports: its flows are told apart by the echo id. */
    function endpoint(ip, port, proto) {
        if (!ip)
            return "*";
        const host = ip.includes(":") ? "[" + ip + "]" : ip;
        return port >= 0 && proto !== "icmp" ? host + ":" + port : host;
    }

    function initiatorText(d) {
        return {
            remote: _("the remote end"), vm: _("the VM"), unknown: _("unknown"), mixed: _("mixed")
        }[d] || d;
    }

    function stageText(s) {
        return {
            rcv_to_queue: _("received → queued"),
            queue_to_xmit: _("queued → handed to driver"),
            xmit_to_guest: _("handed to tap → taken by guest"),
            total: _("end to end"),
        }[s] || s;
    }

    function select(id, label, options, value, onchange) {
        const s = el("select", { class: "pf-c-form-control vnm-select", id, "aria-label": label, onchange: ev => onchange(ev.target.value) },
                     options.map(([v, text]) => el("option", { value: v }, text)));
        s.value = value;
        return s;
    }

    const vmState = { flowsBy: "remote-port", flowsProto: "", latencyDirection: "rx" };

    const vmPage = {
        build(main, name) {
            /* Replies to calls made for a page built before are dropped. */
            this.generation = (this.generation || 0) + 1;
            this.refreshing = false;
            this.name = name;
            this.points = [];
            this.historyLoaded = false;
            this.lastSecond = null;
            this.title = el("h1", { class: "pf-c-title pf-m-2xl", id: "vnm-vm-title" }, name);
            this.summary = el("dl", { class: "pf-c-description-list pf-m-horizontal pf-m-compact vnm-summary", id: "vnm-vm-summary" });
            this.ifaces = table("vnm-ifaces-table", ifaceColumns, _("Interfaces"));
            this.chart = el("div", { class: "vnm-chart", id: "vnm-chart" });
            this.flows = table("vnm-flows-table", flowColumns, _("Flows"));
            this.flowsNote = el("div", { id: "vnm-flows-note" });
            this.latency = table("vnm-latency-table", latencyColumns, _("Latency"));
            this.latencyNote = el("div", { id: "vnm-latency-note" });
            this.hist = el("div", { class: "vnm-hist", id: "vnm-hist" });
            this.connStates = table("vnm-conns-table", connStateColumns, _("TCP connections by state"));
            this.failures = table("vnm-failures-table", failureColumns, _("Handshake failures"));
            this.connsNote = el("div", { id: "vnm-conns-note" });
            this.services = table("vnm-services-table", serviceColumns, _("Services"));
            this.servicesNote = el("div", { id: "vnm-services-note" });
            this.drops = table("vnm-drops-table", dropColumns, _("Drops"));
            this.addresses = table("vnm-addresses-table", addressColumns, _("Addresses"));
            this.addressesNote = el("div", { id: "vnm-addresses-note" });
            this.dropsNote = el("div", { id: "vnm-drops-note" });
            const flowsBy = select("vnm-flows-by", _("Group flows by"), [
                ["remote-port", _("Remote address and port")], ["remote", _("Remote address")],
                ["local-port", _("Local port")], ["flow", _("Connection")]],
            vmState.flowsBy, v => { vmState.flowsBy = v; this.refresh(true) });
            const flowsProto = select("vnm-flows-proto", _("Protocol"), [
                ["", _("All protocols")], ["tcp", "TCP"], ["udp", "UDP"], ["icmp", "ICMP"]],
            vmState.flowsProto, v => { vmState.flowsProto = v; this.refresh(true) });
            const latDir = select("vnm-latency-direction", _("Histogram"), [
                ["rx", _("To the VM, end to end")], ["tx", _("From the VM, end to end")]],
            vmState.latencyDirection, v => { vmState.latencyDirection = v; this.refresh(true) });
            main.append(
                el("nav", { class: "pf-c-breadcrumb", "aria-label": _("Breadcrumb") },
                   el("ol", { class: "pf-c-breadcrumb__list" },
                      el("li", { class: "pf-c-breadcrumb__item" },
                         el("a", { href: "#", class: "pf-c-breadcrumb__link", id: "vnm-back", onclick: ev => { ev.preventDefault(); cockpit.location.go([]) } }, _("VM network"))),
                      el("li", { class: "pf-c-breadcrumb__item" },
                         el("span", { class: "pf-c-breadcrumb__item-divider" }, "›"),
                         el("span", { class: "pf-c-breadcrumb__link pf-m-current", "aria-current": "page" }, name)))),
                el("div", { class: "vnm-heading" }, this.title, this.summary),
                card(_("Interfaces"), "vnm-ifaces-card", el("div", { class: "vnm-table-holder" }, this.ifaces)),
                card(_("Addresses"), "vnm-addresses-card", this.addressesNote,
                     el("div", { class: "vnm-table-holder" }, this.addresses)),
                card(_("Traffic, last 5 minutes"), "vnm-chart-card", this.chart),
                card(_("Flows"), "vnm-flows-card",
                     el("div", { class: "vnm-card-tools" }, flowsBy, flowsProto),
                     this.flowsNote, el("div", { class: "vnm-table-holder" }, this.flows)),
                card(_("TCP connections"), "vnm-conns-card", this.connsNote,
                     el("div", { class: "vnm-table-holder" }, this.connStates),
                     el("h3", { class: "pf-c-title pf-m-md vnm-subtitle" }, _("Handshake failures")),
                     el("div", { class: "vnm-table-holder" }, this.failures)),
                card(_("Services"), "vnm-services-card", this.servicesNote,
                     el("div", { class: "vnm-table-holder" }, this.services)),
                card(_("Latency"), "vnm-latency-card",
                     el("div", { class: "vnm-card-tools" }, latDir),
                     this.latencyNote, el("div", { class: "vnm-table-holder" }, this.latency), this.hist),
                card(_("Drops"), "vnm-drops-card", this.dropsNote, el("div", { class: "vnm-table-holder" }, this.drops)));
        },
        update() {
            const d = findDomain(this.name);
            if (!d) {
                this.summary.replaceChildren();
                return;
            }
            const stats = {};
            for (const s of d.stats)
                stats[s.iface] = s;
            const rows = d.interfaces.map(i => Object.assign({}, i, stats[i.iface] || {}, { has: !!stats[i.iface] }));
            fillTable(this.ifaces, ifaceColumns, rows, r => ({ "data-iface": r.iface, "data-mac": r.mac }));
            const item = (term, value, id) => el("div", { class: "pf-c-description-list__group" },
                el("dt", { class: "pf-c-description-list__term" }, term),
                el("dd", { class: "pf-c-description-list__description", id }, value));
            this.summary.replaceChildren(
                item(_("State"), d.state, "vnm-vm-state"),
                item(_("UUID"), d.uuid, "vnm-vm-uuid"),
                item(_("Receiving"), fmtMbps(d.rates.rx_mbps), "vnm-vm-rx"),
                item(_("Sending"), fmtMbps(d.rates.tx_mbps), "vnm-vm-tx"));
            /* One live point per second: updates also come when other
             * domains' properties change. */
            const now = Date.now() / 1000;
            if (Math.floor(now) !== this.lastSecond) {
                this.lastSecond = Math.floor(now);
                this.points.push({ t: now, rx: d.rates.rx_mbps || 0, tx: d.rates.tx_mbps || 0 });
                this.drawChart();
            }
        },
        loadHistory() {
            const gen = this.generation;
            Promise.all(["rx_mbps", "tx_mbps"].map(m => call("GetHistory", [this.name, m, CHART_SECONDS])))
                    .then(([rx, tx]) => {
                        if (gen !== this.generation)
                            return;
                        const byTime = new Map();
                        for (const [t, , avg] of rx[1])
                            byTime.set(t, { t, rx: avg, tx: 0 });
                        for (const [t, , avg] of tx[1])
                            (byTime.get(t) || byTime.set(t, { t, rx: 0, tx: 0 }).get(t)).tx = avg;
                        const history = [...byTime.values()].sort((a, b) => a.t - b.t);
                        const first = this.points.length ? this.points[0].t : Infinity;
                        this.points = history.filter(p => p.t < first - 0.5).concat(this.points);
                        this.historyLoaded = true;
                        this.drawChart();
                    })
                    .catch(e => gen === this.generation && this.chart.replaceChildren(smallNote("error", errorText(e))));
        },
        drawChart() {
            const now = Date.now() / 1000;
            this.points = this.points.filter(p => p.t >= now - CHART_SECONDS);
            const W = 760, H = 200, L = 70, B = 24;
            const max = Math.max(0.001, ...this.points.map(p => Math.max(p.rx, p.tx))) * 1.1;
            const x = t => L + (W - L - 10) * (1 - (now - t) / CHART_SECONDS);
            const y = v => 8 + (H - B - 8) * (1 - v / max);
            const line = key => this.points.map(p => x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1)).join(" ");
            const grid = [0, 0.5, 1].map(f => [
                svg("line", { x1: L, x2: W - 10, y1: y(max * f / 1.1), y2: y(max * f / 1.1), class: "vnm-grid" }),
                svg("text", { x: L - 6, y: y(max * f / 1.1) + 4, class: "vnm-axis", "text-anchor": "end" }, fmtMbps(max * f / 1.1))]);
            const ticks = [300, 240, 180, 120, 60, 0].map(s =>
                svg("text", { x: x(now - s), y: H - 6, class: "vnm-axis", "text-anchor": "middle" },
                    s === 0 ? _("now") : cockpit.format(_("-$0 min"), s / 60)));
            const last = this.points[this.points.length - 1];
            this.chart.replaceChildren(
                svg("svg", {
                    viewBox: `0 0 ${W} ${H}`, class: "vnm-chart-svg", role: "img",
                    "aria-label": _("Traffic, last 5 minutes"),
                    "data-points": String(this.points.length),
                    "data-last-rx": last ? String(last.rx) : "",
                    "data-last-tx": last ? String(last.tx) : "",
                }, grid, ticks,
                    svg("polyline", { points: line("rx"), class: "vnm-line vnm-rx" }),
                    svg("polyline", { points: line("tx"), class: "vnm-line vnm-tx" })),
                el("div", { class: "vnm-legend" },
                   el("span", { class: "vnm-swatch vnm-rx" }), _("Received by the VM"),
                   el("span", { class: "vnm-swatch vnm-tx" }), _("Sent by the VM")));
        },
        refresh(force) {
            if (!force && this.refreshing)
                return;
            this.refreshing = true;
            const gen = this.generation;
            const live = () => gen === this.generation;
            if (!this.historyLoaded)
                this.loadHistory();
            const flowOpts = { by: vmState.flowsBy, top: 100 };
            if (vmState.flowsProto)
                flowOpts.proto = vmState.flowsProto;
            const flows = call("GetFlows", [this.name, variantOptions(flowOpts)])
                    .then(([rows]) => {
                        if (!live())
                            return;
                        this.flowsNote.replaceChildren();
                        fillTable(this.flows, flowColumns, rows, r => ({ "data-remote": endpoint(r.remote_ip, r.remote_port, r.proto), "data-proto": r.proto }));
                        if (!rows.length)
                            this.flowsNote.replaceChildren(smallNote("none", _("No flows seen yet.")));
                    })
                    .catch(e => {
                        if (!live())
                            return;
                        fillTable(this.flows, flowColumns, []);
                        this.flowsNote.replaceChildren(smallNote("error", errorText(e)));
                    });
            const latency = call("GetLatency", [this.name, variantOptions({ buckets: true })])
                    .then(([st, stages]) => {
                        if (!live())
                            return;
                        if (st.mode === "sampled") {
                            const elapsed = Math.max(Date.now() / 1000 - st.since, 0);
                            this.latencyNote.replaceChildren(smallNote("on",
                                cockpit.format(_("Sampled since $0: $1 s traced of $2 s, in short windows, without slow-packet events. For every packet an administrator runs: virtnetmon latency $3 --on"),
                                               new Date(st.since * 1000).toLocaleString(cockpit.language),
                                               st.traced_seconds.toFixed(1), elapsed.toFixed(0), this.name)));
                            fillTable(this.latency, latencyColumns, stages.filter(s => s.packets > 0));
                            this.drawHistogram(stages.find(s => s.direction === vmState.latencyDirection && s.stage === "total"));
                            return;
                        }
                        if (!st.traced) {
                            fillTable(this.latency, latencyColumns, []);
                            this.hist.replaceChildren();
                            this.latencyNote.replaceChildren(smallNote("off",
                                cockpit.format(_("Latency tracing is off for this VM. An administrator switches it on with: virtnetmon latency $0 --on"), this.name)));
                            return;
                        }
                        this.latencyNote.replaceChildren(smallNote("on", cockpit.format(_("Traced since $0 ($1 probes)."),
                            new Date(st.since * 1000).toLocaleString(cockpit.language), st.program)));
                        fillTable(this.latency, latencyColumns, stages.filter(s => s.packets > 0));
                        this.drawHistogram(stages.find(s => s.direction === vmState.latencyDirection && s.stage === "total"));
                    })
                    .catch(e => {
                        if (!live())
                            return;
                        fillTable(this.latency, latencyColumns, []);
                        this.hist.replaceChildren();
                        this.latencyNote.replaceChildren(smallNote("error", errorText(e)));
                    });
            const drops = call("GetDrops", [this.name])
                    .then(([rows]) => {
                        if (!live())
                            return;
                        fillTable(this.drops, dropColumns, rows);
                        this.dropsNote.replaceChildren(...(rows.length ? [] : [smallNote("none", _("No packet of this VM was dropped."))]));
                    })
                    .catch(e => {
                        if (!live())
                            return;
                        fillTable(this.drops, dropColumns, []);
                        this.dropsNote.replaceChildren(smallNote("error", errorText(e)));
                    });
            const addresses = call("GetAddresses", [this.name, variantOptions({})])
                    .then(([rows]) => {
                        if (!live())
                            return;
                        fillTable(this.addresses, addressColumns, rows, r => ({ "data-address": r.address, "data-source": r.source }));
                        this.addressesNote.replaceChildren(...(rows.length ? [] : [smallNote("none", _("No address of this VM seen yet."))]));
                    })
                    .catch(e => {
                        if (!live())
                            return;
                        fillTable(this.addresses, addressColumns, []);
                        this.addressesNote.replaceChildren(smallNote("error", errorText(e)));
                    });
            const conns = call("GetConnections", [this.name, variantOptions({})])
                    .then(([, states, , failures]) => {
                        if (!live())
                            return;
                        fillTable(this.connStates, connStateColumns, states, r => ({ "data-initiator": r.initiator }));
                        fillTable(this.failures, failureColumns, failures);
                        this.connsNote.replaceChildren(smallNote("states", _("As the packets passed the host: half-open connections wait for an answer; closed and reset ones stay until their flow is idle.")));
                    })
                    .catch(e => {
                        if (!live())
                            return;
                        fillTable(this.connStates, connStateColumns, []);
                        fillTable(this.failures, failureColumns, []);
                        this.connsNote.replaceChildren(smallNote("error", errorText(e)));
                    });
            const services = call("GetServices", [this.name])
                    .then(([summary, rows]) => {
                        if (!live())
                            return;
                        fillTable(this.services, serviceColumns, rows, r => ({ "data-service": r.proto + "/" + r.port }));
                        const notes = [];
                        if (!rows.length)
                            notes.push(smallNote("none", _("No service of this VM seen yet: a TCP port that accepted a connection or a UDP port that answered.")));
                        if (summary.flows_untracked)
                            notes.push(smallNote("untracked", cockpit.format(_("$0 flows went to ports beyond the $1 services kept."), summary.flows_untracked, summary.services_max)));
                        this.servicesNote.replaceChildren(...notes);
                    })
                    .catch(e => {
                        if (!live())
                            return;
                        fillTable(this.services, serviceColumns, []);
                        this.servicesNote.replaceChildren(smallNote("error", errorText(e)));
                    });
            Promise.allSettled([flows, latency, drops, addresses, conns, services]).then(() => {
                if (live())
                    this.refreshing = false;
            });
        },
        /* Buckets gathered per power of two of nanoseconds, drawn as bars, as
         * the reference latency tool prints them. */
        drawHistogram(stage) {
            if (!stage || !stage.packets) {
                this.hist.replaceChildren(smallNote("empty", _("No packet measured in this direction yet.")));
                return;
            }
            const bins = new Map();
            for (const [low, , count] of stage.buckets_ns) {
                const p = Math.floor(Math.log2(Math.max(1, low)));
                bins.set(p, (bins.get(p) || 0) + count);
            }
            const keys = [...bins.keys()].sort((a, b) => a - b);
            const lo = keys[0], hi = keys[keys.length - 1];
            const rows = [];
            for (let p = lo; p <= hi; p++)
                rows.push([p, bins.get(p) || 0]);
            const max = Math.max(...rows.map(r => r[1]));
            const W = 760, RH = 18, L = 190, H = rows.length * RH + 6;
            this.hist.replaceChildren(svg("svg", {
                viewBox: `0 0 ${W} ${H}`, class: "vnm-hist-svg", role: "img",
                "aria-label": _("Latency histogram"), "data-count": String(stage.packets)
            }, rows.map(([p, n], i) => [
                svg("text", { x: L - 8, y: i * RH + 14, class: "vnm-axis", "text-anchor": "end" },
                    fmtUs(2 ** p / 1000) + " – " + fmtUs(2 ** (p + 1) / 1000)),
                svg("rect", {
                    x: L, y: i * RH + 3, height: RH - 5, width: Math.max(n ? 1 : 0, (W - L - 80) * n / max),
                    class: "vnm-bar", "data-low-ns": String(2 ** p), "data-count": String(n)
                }),
                svg("text", { x: L + (W - L - 80) * n / max + 6, y: i * RH + 14, class: "vnm-axis" }, fmtNumber(n, 0))])));
        },
    };

    /* ---------- topology ---------- */

    const topoState = { color: "rtt" };

    function rttColor(e) {
        if (!e.rtt_samples)
            return "var(--pf-global--palette--black-500)";
        if (e.rtt_avg_us < 1000)
            return "var(--pf-global--success-color--100)";
        if (e.rtt_avg_us < 10000)
            return "var(--pf-global--warning-color--100)";
        return "var(--pf-global--danger-color--100)";
    }

    function retransColor(e) {
        if (!e.tcp_retrans)
            return "var(--pf-global--success-color--100)";
        if (e.tcp_retrans < 10)
            return "var(--pf-global--warning-color--100)";
        return "var(--pf-global--danger-color--100)";
    }

    const topologyPage = {
        build(main) {
            this.details = el("div", { class: "vnm-topology-details", id: "vnm-topology-details" }, _("Point at a VM, a peer or a line for its numbers."));
            this.canvas = el("div", { class: "vnm-topology", id: "vnm-topology" });
            this.note = el("div", { id: "vnm-topology-note" });
            const colorBy = select("vnm-topology-color", _("Color lines by"), [
                ["rtt", _("Color by TCP delay")], ["retrans", _("Color by retransmissions")]],
            topoState.color, v => { topoState.color = v; this.refresh(true) });
            this.generation = (this.generation || 0) + 1;
            this.refreshing = false;
            main.append(card(_("Who talks to whom"), "vnm-topology-card",
                             el("div", { class: "vnm-card-tools" }, colorBy),
                             this.note, this.canvas, this.details));
        },
        update() {},
        refresh(force) {
            if (!force && this.refreshing)
                return;
            this.refreshing = true;
            const gen = this.generation;
            call("GetTopology", [])
                    .then(([nodes, edges]) => {
                        if (gen === this.generation) {
                            this.note.replaceChildren();
                            this.draw(nodes, edges);
                        }
                    })
                    .catch(e => gen === this.generation && this.note.replaceChildren(smallNote("error", errorText(e))))
                    .finally(() => {
                        if (gen === this.generation)
                            this.refreshing = false;
                    });
        },
        draw(nodes, edges) {
            if (!nodes.length) {
                this.canvas.replaceChildren(smallNote("none", _("No traffic between VMs and peers seen yet.")));
                return;
            }
            const vms = nodes.filter(n => n.kind === "vm");
            const remotes = nodes.filter(n => n.kind !== "vm");
            const rowH = 56, W = 900;
            const H = Math.max(vms.length, remotes.length) * rowH + 40;
            const pos = {};
            const place = (list, x) => list.forEach((n, i) => {
                pos[n.id] = { x, y: 30 + (i + 0.5) * (H - 40) / list.length };
            });
            place(vms, 200);
            place(remotes, 700);
            const maxBytes = Math.max(1, ...edges.map(e => e.bytes_to_target + e.bytes_to_source));
            const width = e => 1.5 + 10 * Math.log1p(e.bytes_to_target + e.bytes_to_source) / Math.log1p(maxBytes);
            const show = text => { this.details.textContent = text };
            const label = id => (nodes.find(n => n.id === id) || { label: id }).label;
            const edgeText = e => cockpit.format(_("$0 → $1: $2 sent, $3 received, $4 connections, $5 retransmissions, TCP delay $6, jitter $7"),
                label(e.source), label(e.target), fmtBytes(e.bytes_to_target), fmtBytes(e.bytes_to_source),
                e.tcp_conns_opened, e.tcp_retrans, fmtUs(e.rtt_avg_us, e.rtt_samples), fmtUs(e.jitter_us, e.rtt_samples));
            const nodeText = n => cockpit.format(_("$0: $1 received, $2 sent"), n.label, fmtBytes(n.rx_bytes), fmtBytes(n.tx_bytes));
            const lines = edges.filter(e => pos[e.source] && pos[e.target]).map(e => {
                const a = pos[e.source], b = pos[e.target];
                const d = a.x === b.x
                    ? `M${a.x - 18},${a.y} C${a.x - 140},${a.y} ${b.x - 140},${b.y} ${b.x - 18},${b.y}`
                    : `M${a.x + 18},${a.y} C${(a.x + b.x) / 2},${a.y} ${(a.x + b.x) / 2},${b.y} ${b.x - 18},${b.y}`;
                const text = edgeText(e);
                return svg("path", {
                    d, class: "vnm-edge", fill: "none",
                    stroke: topoState.color === "rtt" ? rttColor(e) : retransColor(e),
                    "stroke-width": width(e).toFixed(1),
                    "data-source": e.source, "data-target": e.target,
                    "data-bytes": String(e.bytes_to_target + e.bytes_to_source),
                    onmouseenter: () => show(text)
                }, svg("title", {}, text));
            });
            const circles = nodes.filter(n => pos[n.id]).map(n => {
                const p = pos[n.id], text = nodeText(n);
                return svg("g", { class: "vnm-node vnm-" + n.kind, "data-id": n.id, "data-label": n.label, onmouseenter: () => show(text) },
                           svg("title", {}, text),
                           svg("circle", { cx: p.x, cy: p.y, r: 16 }),
                           svg("text", { x: n.kind === "vm" ? p.x - 24 : p.x + 24, y: p.y + 5, "text-anchor": n.kind === "vm" ? "end" : "start" }, n.label));
            });
            this.canvas.replaceChildren(svg("svg", {
                viewBox: `0 0 ${W} ${H}`, class: "vnm-topology-svg", role: "img", "aria-label": _("Traffic topology")
            }, lines, circles), el("div", { class: "vnm-legend" }, topoState.color === "rtt"
                ? _("Green: TCP delay under 1 ms; yellow: under 10 ms; red: 10 ms or more; grey: no TCP delay measured. Line width: bytes.")
                : _("Green: no retransmission; yellow: fewer than 10; red: 10 or more. Line width: bytes.")));
        },
    };

    /* ---------- the frame: tabs, empty states, routing ---------- */

    const view = {
        page: null,
        key: null,
        pending: null,
        lastRefresh: 0,

        route() {
            const path = cockpit.location.path;
            if (path[0] === "vm" && path[1])
                return { key: "vm/" + path[1], page: vmPage, arg: path[1], tab: "overview" };
            if (path[0] === "topology")
                return { key: "topology", page: topologyPage, tab: "topology" };
            return { key: "overview", page: overviewPage, tab: "overview" };
        },

        /* Called for every change; coalesced to one render per frame. */
        changed(structural) {
            this.structural = this.structural || structural;
            if (this.pending)
                return;
            this.pending = window.requestAnimationFrame(() => {
                this.pending = null;
                const s = this.structural;
                this.structural = false;
                this.render(s);
            });
        },

        emptyReason() {
            if (conn.owner === undefined && !conn.problem)
                return "connecting";
            if (!daemonUp())
                return conn.problem ? "bus-error" : "no-daemon";
            return null;
        },

        render(structural) {
            const app = document.getElementById("app");
            const r = this.route();
            const reason = this.emptyReason();
            const key = reason ? "empty/" + reason : r.key;
            if (key !== this.key || !this.main) {
                this.key = key;
                this.page = reason ? null : r.page;
                app.setAttribute("aria-busy", reason === "connecting" ? "true" : "false");
                this.main = el("section", { class: "pf-c-page__main-section vnm-main", "data-page": reason ? "empty" : r.key });
                app.replaceChildren(el("main", { class: "pf-c-page__main", tabindex: "-1" }, this.tabs(r.tab), this.main));
                if (reason === "connecting") {
                    this.main.append(el("div", { class: "pf-c-empty-state" }, el("div", { class: "pf-c-empty-state__content" },
                        el("span", { class: "pf-c-spinner", role: "progressbar", "aria-valuetext": _("Loading...") },
                           el("span", { class: "pf-c-spinner__clipper" }), el("span", { class: "pf-c-spinner__lead-ball" }),
                           el("span", { class: "pf-c-spinner__tail-ball" })))));
                } else if (reason === "no-daemon") {
                    this.main.append(emptyState("no-daemon", _("virtnetmond is not running"),
                        _("Per-VM network statistics come from the virtnetmond service. Start it with: systemctl start virtnetmond"),
                        el("button", { class: "pf-c-button pf-m-primary", type: "button", id: "vnm-retry", onclick: () => connect() }, _("Try again"))));
                } else if (reason === "bus-error") {
                    this.main.append(emptyState("bus-error", _("Cannot reach the system bus"), conn.problem));
                } else {
                    r.page.build(this.main, r.arg);
                    this.lastRefresh = 0;
                }
            }
            if (!this.page)
                return;
            if (r.page === vmPage && !findDomain(r.arg)) {
                if (!this.main.querySelector("#vnm-empty"))
                    this.main.prepend(emptyState("unknown-vm", cockpit.format(_("VM $0 is not running"), r.arg),
                        _("virtnetmond knows only running VMs. The overview lists them.")));
            } else {
                const stale = this.main.querySelector("#vnm-empty");
                if (stale)
                    stale.remove();
            }
            if (r.page === overviewPage && domainList().length === 0 && !this.main.querySelector("#vnm-empty"))
                this.main.prepend(emptyState("no-vms", _("No VM is running"), _("Interfaces appear here when a VM starts.")));
            this.page.update();
            const now = Date.now();
            if (structural || now - this.lastRefresh >= REFRESH_MS) {
                this.lastRefresh = now;
                this.page.refresh(structural);
            }
        },

        tabs(active) {
            const tab = (key, label, path) => el("li", { class: "pf-c-tabs__item" + (active === key ? " pf-m-current" : "") },
                el("button", {
                    class: "pf-c-tabs__link", type: "button", id: "vnm-tab-" + key,
                    "aria-selected": active === key ? "true" : "false", onclick: () => cockpit.location.go(path)
                }, el("span", { class: "pf-c-tabs__item-text" }, label)));
            const version = daemonUp() ? conn.monitor.Version : "";
            return el("section", { class: "pf-c-page__main-section pf-m-light vnm-header" },
                      el("div", { class: "vnm-title-row" },
                         el("h1", { class: "pf-c-title pf-m-xl" }, _("VM network")),
                         version ? el("span", { class: "vnm-version" }, cockpit.format(_("virtnetmond $0"), version)) : null),
                      el("div", { class: "pf-c-tabs pf-m-no-border-bottom" },
                         el("ul", { class: "pf-c-tabs__list" },
                            tab("overview", _("Overview"), []),
                            tab("topology", _("Topology"), ["topology"]))));
        },
    };

    cockpit.addEventListener("locationchanged", () => view.changed(true));
    document.addEventListener("DOMContentLoaded", () => {
        document.title = _("VM network");
        cockpit.translate();
        connect();
    });
}());
