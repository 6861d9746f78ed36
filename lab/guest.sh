#!/bin/bash
# The lab, inside a Debian-kernel guest (scripts/lab.sh boots it). Builds the
# namespaces, starts FRR on the node and the leaf, applies the intents in
# lab/intents/ one after the other through reconcile() and checks each.
#
# Environment: LAB_REPO (checkout), LAB_OUT (a directory shared with the
# host: log, dumps, result), LAB_BIN (vrfc and vrfc-apply), LAB_KEEP=1 (a
# shell at the end instead of powering off).
set -uo pipefail
REPO=${LAB_REPO:?}; OUT=${LAB_OUT:?}; BIN=${LAB_BIN:?}
LAB=$REPO/lab
RUN=/tmp/vrfc-lab
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PY=/usr/bin/python3
CHECK="$PY $LAB/check.py"
VRFC=$BIN/vrfc
APPLY=$BIN/vrfc-apply
FAULTS=$BIN/vrfc-apply-faults
CONFIG=$LAB/node/config.yaml
ROUTER_ID=192.0.2.129
mkdir -p "$RUN"; chown frr:frr "$RUN"   # the daemons write pid files and logs there
exec 7<&0 8>&1   # the terminal, for --keep's shell
exec > >(tee -a "$OUT/lab.log") 2>&1

LAB_T0=$EPOCHREALTIME
FAILED=""
since() { awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $1 }"; }
note() { printf '[lab %6ss] %s\n' "$(since $LAB_T0)" "$*"; }
echo "running" >"$OUT/result"

# ------------------------------------------------------------------ debugging
dump() { # what a person needs when a phase fails
    local f="$OUT/dump-$1.txt"
    {
        for ns in node leaf; do
            echo "===== $ns: show running-config"; vtysh -N $ns -c 'show running-config' 2>&1
            echo "===== $ns: show bgp vrf all summary"; vtysh -N $ns -c 'show bgp vrf all summary' 2>&1
            echo "===== $ns: show bgp l2vpn evpn route type prefix"; vtysh -N $ns -c 'show bgp l2vpn evpn route type prefix' 2>&1 | head -80
            # What zebra made of the L3 VNIs: state, router MACs and next hops
            # per VNI (the entries the data path needs on br./vx.).
            echo "===== $ns: show evpn vni detail / bgp l2vpn evpn vni / rmac / next-hops"
            vtysh -N $ns -c 'show evpn vni detail' -c 'show bgp l2vpn evpn vni' -c 'show evpn rmac vni all' -c 'show evpn next-hops vni all' 2>&1
            echo "===== $ns: ip -d link"; ip -n $ns -d link 2>&1
            for v in $(ip -n $ns -j link show type vrf 2>/dev/null | $PY -c 'import json,sys; print(" ".join(l["ifname"] for l in json.load(sys.stdin)))'); do
                echo "===== $ns: ip route show vrf $v"; ip -n $ns route show vrf $v 2>&1; ip -n $ns -6 route show vrf $v 2>&1
            done
            echo "===== $ns: ip route (default VRF)"; ip -n $ns route 2>&1; ip -n $ns -6 route 2>&1
            echo "===== $ns: ip neigh"; ip -n $ns neigh 2>&1
            echo "===== $ns: bridge fdb of vx. links"; bridge -n $ns fdb show 2>&1 | grep ' dev vx[.]' 
        done
        echo "===== node: vrfc-apply plan"; $APPLY plan --netns node --config "$CONFIG" "$CURRENT" 2>&1
        echo "===== node: vrfc-apply bpf stats"; $APPLY bpf stats 2>&1
        echo "===== node: FRR log errors"; grep -hiE 'error|notification|\[EC' $RUN/node-*.log 2>/dev/null | tail -40
    } >"$f" 2>&1
    note "dump written to $f"; tail -n 60 "$f"
}

# phase NAME CMD...: runs one step, prints its duration, dumps on failure.
phase() { phase_run stop "$@"; }
# soft_phase NAME CMD...: as phase, but the lab goes on after a failure (the
# result is still "failed"), for a check nothing later depends on.
soft_phase() { phase_run go "$@"; }
phase_run() {
    local mode=$1 name=$2; shift 2
    local t0=$EPOCHREALTIME
    CURRENT_PHASE=$name
    note "PHASE $name ..."
    if "$@"; then
        note "PHASE $name ok ($(since $t0) s)"
        echo "ok $name $(since $t0)" >>"$OUT/phases"
    else
        note "PHASE $name FAILED ($(since $t0) s)"
        echo "FAILED $name" >>"$OUT/phases"
        FAILED="$FAILED $name"
        dump "$name"
        [ $mode = go ] || finish
    fi
}

finish() {
    if [ -n "$FAILED" ]; then echo "failed:$FAILED" >"$OUT/result"; else echo "passed" >"$OUT/result"; fi
    note "lab ${FAILED:+FAILED:}${FAILED:-passed} in $(since $LAB_T0) s"
    if [ "${LAB_KEEP:-0}" = 1 ]; then keep_shell; fi
    exit 0
}

# ------------------------------------------------------------------ topology
ns() { ip netns exec "$@"; }

topology() {
    # One `ip -batch` per namespace: every ip process costs up to a second
    # under emulation.
    exec 5>"$OUT/topology.trace"; BASH_XTRACEFD=5; PS4='+ $EPOCHREALTIME '; set -x
    # One python call turns lab.json into shell variables.
    eval "$($PY - $LAB/lab.json <<'PYEOF'
import json, shlex, sys
d = json.load(open(sys.argv[1]))
print(f"MGMT_TABLE={d['mgmt']['table']} VTEP={d['leaf']['vtep']} TENANTS={shlex.quote(' '.join(d['tenants']))}")
for v, t in d['tenants'].items():
    h = t['host']
    print(f"T_{v}=" + shlex.quote(f"{t['vni']} {t['table']} {h['ipv4']} {h['gw4']} {h['ipv6']} {h['gw6']}"))
PYEOF
)" || return 1
    local root="" node="" leaf="" cluster="" vrf
    declare -A host
    for n in node leaf cluster; do root+="netns add $n"$'\n'; done
    for vrf in $TENANTS; do root+="netns add t.$vrf"$'\n'; done
    # Node <-> leaf: the fabric link (unnumbered BGP over IPv6 link-local);
    # node <-> pod; the management VRF's veth pair; leaf <-> tenant hosts.
    root+="link add eth1 mtu 9100 netns node type veth peer name eth1 mtu 9100 netns leaf
link add cl0 netns node type veth peer name eth0 netns cluster
link add mgmt_vrf_def netns node type veth peer name def_mgmt_vrf netns node
"
    for vrf in $TENANTS; do root+="link add h.$vrf netns leaf type veth peer name eth0 netns t.$vrf"$'\n'; done
    # The node: a real dummy underlay with the VTEP address, the cluster
    # side in the default VRF, the provisioned management VRF.
    node="link set lo up
link set eth1 up
link add dum.underlay mtu 9100 type dummy
address add $ROUTER_ID/32 dev dum.underlay
link set dum.underlay up
address add 198.51.100.1/28 dev cl0
address add 198.51.100.33/27 dev cl0
link add mgmt_vrf type vrf table $MGMT_TABLE
link set mgmt_vrf up
link set def_mgmt_vrf master mgmt_vrf
link set mgmt_vrf_def up
link set def_mgmt_vrf up
"
    cluster="link set lo up
address add 198.51.100.2/28 dev eth0
address add 198.51.100.34/27 dev eth0
"
    for p in ffff:ffff ffff:1 ffff:80; do
        node+="address add 2001:db8:$p::1/64 dev cl0 nodad"$'\n'
        cluster+="address add 2001:db8:$p::2/64 dev eth0 nodad"$'\n'
    done
    node+="link set cl0 up"$'\n'
    cluster+="link set eth0 up
route add default via 198.51.100.1
route add default via 2001:db8:ffff:ffff::1
"
    # The leaf: its VTEP, and per tenant VRF its own vrf/bridge/vxlan
    # devices and a tenant host namespace behind it.
    leaf="link set lo up
link set eth1 up
link add vtep type dummy
address add $VTEP/32 dev vtep
link set vtep up
"
    for vrf in $TENANTS; do
        local vni table h4 g4 h6 g6 var=T_$vrf
        read -r vni table h4 g4 h6 g6 <<<"${!var}"
        leaf+="link add vr.$vrf type vrf table $table
link add br.$vrf type bridge
link set br.$vrf master vr.$vrf addrgenmode none
link add vx.$vrf type vxlan id $vni local $VTEP dstport 4789 nolearning
link set vx.$vrf master br.$vrf addrgenmode none
link set vx.$vrf type bridge_slave neigh_suppress off learning off
link set h.$vrf master vr.$vrf
address add $g4 dev h.$vrf
address add $g6 dev h.$vrf nodad
link set vr.$vrf up
link set br.$vrf up
link set vx.$vrf up
link set h.$vrf up
"
        host[$vrf]="link set lo up
address add $h4 dev eth0
address add $h6 dev eth0 nodad
link set eth0 up
route add default via ${g4%/*}
route add default via ${g6%/*}
"
    done
    ip -batch - <<<"$root" || return 1
    ip -n node -batch - <<<"$node" || return 1
    ip -n cluster -batch - <<<"$cluster" || return 1
    ip -n leaf -batch - <<<"$leaf" || return 1
    for vrf in $TENANTS; do ip -n t.$vrf -batch - <<<"${host[$vrf]}" || return 1; done
    for n in node leaf; do
        ns $n sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1 || return 1
    done
    set +x
}

# ------------------------------------------------------------------ FRR
start_frr() { # NAME DAEMON...: daemons in netns NAME with pathspace NAME
    local name=$1; shift
    mkdir -p /etc/frr/$name /var/run/frr/$name; chown frr:frr /etc/frr/$name /var/run/frr/$name
    for d in "$@"; do
        ns $name /usr/lib/frr/$d -d -N $name -F datacenter -i $RUN/$name-$d.pid --log file:$RUN/$name-$d.log || return 1
        for _ in $(seq 100); do [ -S /var/run/frr/$name/$d.vty ] && break; sleep 0.1; done
        [ -S /var/run/frr/$name/$d.vty ] || { echo "$name: $d did not start"; cat $RUN/$name-$d.log; return 1; }
    done
}

stop_frr() { # NAME: by the PIDs the daemons wrote
    local name=$1 pid
    for f in $RUN/$name-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f"); kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null; rm -f "$f"
    done
}

load() { # NAME FILE: vtysh -f, refusing any line FRR complains about
    local out; out=$(vtysh -N $1 -f "$2" 2>&1); local rc=$?
    out=$(echo "$out" | grep -v "^% Can't open configuration file /etc/frr/" | grep -v '^$')
    [ -n "$out" ] && echo "$out"
    [ $rc = 0 ] && [ -z "$(echo "$out" | grep -v "The route-map '.*' does not exist.")" ]
}

start_node_frr() {
    start_frr node zebra bgpd staticd || return 1
    # The base config as the node boots with it: hints are comments.
    sed -e "s/{{.Hostname}}/node/" -e "s/{{.UnderlayRouterID}}/$ROUTER_ID/" $LAB/node/frr.conf >$RUN/node-base.conf
    load node $RUN/node-base.conf
}

start_leaf_frr() {
    $CHECK leaf-conf >$RUN/leaf.conf && start_frr leaf zebra bgpd && load leaf $RUN/leaf.conf
}

# ------------------------------------------------------------------ reconcile
# THE one place where the node's intent is applied: one reconcile of the
# node agent (compile in its unprivileged child, links, frr.conf and FRR's
# reload, verification; see README "Reconcile"). The first run reloads FRR
# whole (frr-reload.py, no systemd in the guest), later runs send the delta.
reconcile() { # INTENT_DIR
    local intent=$1 t0=$EPOCHREALTIME
    mkdir -p -m 700 $RUN/state
    $APPLY agent --oneshot --netns node --frr-config $RUN/frr.conf --frr-pathspace node --state-dir $RUN/state \
        --template $LAB/node/frr.conf --hostname node --router-id $ROUTER_ID --config "$CONFIG" "$intent" \
        >$RUN/apply.log 2>&1 || { cat $RUN/apply.log; return 1; }
    grep -E 'reload: |verified|rolling back|L3 VNI' $RUN/apply.log | tail -n 5
    note "reconciled (agent --oneshot) in $(since $t0) s"
}

in_sync() {
    local out; out=$($APPLY plan --netns node --config "$CONFIG" "$CURRENT" 2>&1); local rc=$?
    echo "$out" | tail -n 2
    [ $rc = 0 ] && echo "$out" | grep -q "in sync"
}

verify() { # INTENT_DIR: sessions, leaking, kernel in sync
    $CHECK sessions "$1" --timeout 180 && $CHECK leaks "$1" --timeout 180 && in_sync
}

apply_intent() { CURRENT=$1; reconcile "$1" && verify "$1"; }

# ------------------------------------------------------------------ traffic
# traffic VRF...: first each zebra must hold, per VRF's L3 VNI, the other
# side's router MAC and VTEP as next hop (IPv4 and IPv4-mapped IPv6; what
# the kernel's neighbour and FDB entries come from): the node's the leaf's,
# the leaf's the node's. Then from each VRF's tenant host (behind the leaf)
# to a pod (the node's default VRF) and back: through the fabric, the VXLAN
# and the VRF boundary. Per VRF: ping and a 2 MB iperf3 TCP transfer in both
# families, and the tc router's `routed` counter must grow by at least that
# VRF's echo replies (pod -> tenant through cl0 and vd., 5 per family).
#
# The leaf is the lab's stand-in for the fabric and runs FRR 8.4 too, whose
# zebra can lose an L3 VNI's router MAC when bgpd withdraws and re-sends
# routes at once (README "The lab"). When only the leaf's zebra lost it
# (check.py evpn exits 3: the node holds the leaf's and still advertises
# its own) the lab repairs its leaf as the fabric's operator would, says so
# loudly, and still requires every check and the traffic to pass. The
# node's side is never repaired here.
IPERF_PORT=5200
traffic() {
    local vrf
    evpn_or_repair_leaf "$@" || return 1
    for vrf in "$@"; do
        traffic_vrf $vrf && continue
        # Lost during the traffic? Only a leaf-only loss earns one repair
        # and a second try; anything else fails the phase.
        note "traffic for $vrf failed; checking both zebras"
        evpn_or_repair_leaf $vrf || return 1
        [ "$LEAF_REPAIRED" = 1 ] || return 1
        traffic_vrf $vrf || return 1
    done
    $APPLY bpf stats | head -n 12
}

# evpn_or_repair_leaf VRF...: check.py evpn; on a leaf-only loss, repair
# the leaf's VNIs that lost it (once) and require every check (node and
# leaf) to hold after. LEAF_REPAIRED=1 when it repaired.
LEAF_REPAIRED=0
evpn_or_repair_leaf() {
    local rc=0 vrf
    LEAF_REPAIRED=0
    $CHECK evpn "$@" --timeout 120 || rc=$?
    [ $rc = 3 ] || return $rc
    for vrf in "$@"; do
        rc=0; $CHECK evpn $vrf --timeout 0 >/dev/null || rc=$?
        [ $rc = 3 ] || continue
        repair_leaf $vrf || return 1
    done
    LEAF_REPAIRED=1
    $CHECK evpn "$@" --timeout 60
}

# repair_leaf VRF: what the fabric's operator does about FRR 8.4 losing an
# L3 VNI's router MAC (the cure vrfc applies on the node, in FRR's terms):
# take the VNI from the VRF in zebra (`no vni N`: zebra drops its router
# MACs and next hops, bgpd unimports the VRF's routes), wait until zebra no
# longer has it as an L3 VNI and bgpd's withdrawals are through (a
# withdrawal and a re-send together would lose it again), give it back.
# Logged loudly and counted in $OUT/leaf-repairs (scripts/lab.sh prints it).
repair_leaf() {
    local vrf=$1 vni t0=$EPOCHREALTIME
    vni=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenants"][sys.argv[2]]["vni"])' $LAB/lab.json $vrf) || return 1
    note "!!!!! the leaf's zebra lost VNI $vni's router MAC ($vrf): FRR 8.4 bug on the lab's fabric, not the node; repairing the LEAF"
    vtysh -N leaf -c 'configure terminal' -c "vrf vr.$vrf" -c "no vni $vni" >/dev/null || return 1
    for _ in $(seq 50); do
        vtysh -N leaf -d zebra -c "show evpn vni $vni json" | grep -q '"type":"L3"' || break
        sleep 0.2
    done
    sleep 2
    vtysh -N leaf -c 'configure terminal' -c "vrf vr.$vrf" -c "vni $vni" >/dev/null || return 1
    local msg="LEAF REPAIRED in $CURRENT_PHASE: the leaf's zebra had lost VNI $vni's ($vrf) router MAC (FRR 8.4 bug, the lab's fabric, not the node); 'no vni $vni' / 'vni $vni' on the leaf after $(since $t0) s"
    note "!!!!! $msg"
    echo "$msg" >>"$OUT/leaf-repairs"
}

traffic_vrf() { # VRF
    local vrf=$1 before=$RUN/stats-before.json after=$RUN/stats-after.json f port pod
    local pod4=198.51.100.2 pod6=2001:db8:ffff:ffff::2
    note "traffic: t.$vrf <-> pod"
    $APPLY bpf stats --json >$before || return 1
    ns t.$vrf ping -c 5 -i 0.3 -W 5 $pod4 || return 1
    ns t.$vrf ping -6 -c 5 -i 0.3 -W 5 $pod6 || return 1
    for f in 4 6; do
        # A port of its own per transfer: a one-off server of the previous
        # transfer may still hold its port for a moment.
        IPERF_PORT=$((IPERF_PORT + 1)); port=$IPERF_PORT
        pod=$pod4; [ $f = 6 ] && pod=$pod6
        ns cluster iperf3 -s -D -1 -p $port --logfile $RUN/iperf-$port.log || return 1
        sleep 0.5
        ns t.$vrf iperf3 -c $pod -p $port -n 2M -$f | tail -n 4 || return 1
    done
    $APPLY bpf stats --json >$after || return 1
    $CHECK routed $before $after --min 10
}

# ------------------------------------------------------------------ faults
refused() { # a CR with an error: refused, nothing changes, the old intent runs
    local before; before=$(md5sum <$RUN/frr.conf)
    if reconcile $LAB/intents/5-refused; then echo "an invalid intent was applied"; return 1; fi
    [ "$(md5sum <$RUN/frr.conf)" = "$before" ] || { echo "frr.conf changed"; return 1; }
    verify "$CURRENT"
}

killed() { # the applier dies (as with kill -9) in the middle of an apply, then rerun: converges
    # 4 -> 3 brings vrf2 back: links to create (and FRR config only added,
    # which frr-reload.py does far faster than deleting).
    # The moment: right after the kernel acknowledged the first new link
    # (loading and attaching the router and bringing links up are still to
    # come). A kill -9 from outside raced the applier, which can create all
    # the links within one poll; vrfc-apply-faults (the test-only build of
    # the same apply) ends with _exit there instead: no cleanup, no unwinding.
    local target=$LAB/intents/3-vrf3-added rc=0
    $FAULTS apply --crash-after-changes 1 --netns node --config "$CONFIG" $target >$RUN/killed.log 2>&1 || rc=$?
    [ $rc = 137 ] || { echo "the applier was to die after its first change (137), ended $rc"; cat $RUN/killed.log; return 1; }
    ip -n node link show vr.vrf2 >/dev/null 2>&1 || { echo "the first change (vr.vrf2) is not in the kernel"; return 1; }
    note "applier died after its first creation; what is left:"
    if $APPLY plan --netns node --config "$CONFIG" $target >$RUN/killed-plan.log 2>&1; then
        echo "the plan after the crash says in sync"; return 1
    fi
    head -n 1 $RUN/killed-plan.log
    apply_intent $target
}

frr_restart() { # FRR restarted with its base config; the next reconcile repairs it
    stop_frr node
    start_node_frr || return 1
    if vtysh -N node -c 'show running-config' | grep -q "^router bgp .* vrf vr\."; then
        echo "the restarted FRR already has generated config?"; return 1
    fi
    apply_intent "$CURRENT"
}

rmac_lost() { # FRR 8.4 loses vrf2's router MAC; the next reconcile repairs it
    # Configuring a VRF's import route target while its L3 VNI is up makes
    # bgpd withdraw and re-send the VRF's EVPN routes back to back, and FRR
    # 8.4's zebra then drops the VNI's router-MAC/next-hop entries (README
    # "The lab"): here by taking vrf2's configured route target away and
    # giving it back, as a whole reload into a restarted FRR does.
    local rt; rt=$(vtysh -N node -c 'show running-config' | awk '/^router bgp .* vrf vr.vrf2$/ {f=1} f && /route-target import/ {print $3; exit}')
    [ -n "$rt" ] || { echo "vr.vrf2 has no configured import route target"; return 1; }
    vtysh -N node -c 'configure terminal' -c 'router bgp 64510 vrf vr.vrf2' -c 'address-family l2vpn evpn' \
        -c "no route-target import $rt" >/dev/null
    sleep 2
    vtysh -N node -c 'configure terminal' -c 'router bgp 64510 vrf vr.vrf2' -c 'address-family l2vpn evpn' \
        -c "route-target import $rt" >/dev/null
    if $CHECK evpn vrf2 --timeout 20; then
        note "FRR kept vrf2's router MAC (this FRR does not lose it): nothing for the reconcile to repair"
    else
        note "FRR lost vrf2's router MAC (above); the next reconcile must bring it back"
    fi
    reconcile "$CURRENT" || return 1
    grep -q "L3 VNI 101" $RUN/apply.log || note "the reconcile found nothing to repair"
    traffic vrf2
}

leaf_rmac_lost() { # the leaf's FRR 8.4 loses vrf1's router MAC; the lab names it and repairs its leaf
    # The leaf's own configuration change does to the leaf's zebra what a
    # node's attribute change can: bgpd withdraws and re-sends vr.vrf1's
    # imported routes at once (taking its import route target away and
    # giving it back), and FRR 8.4 then drops VNI 100's router MAC. The
    # EVPN check must name the leaf (exit 3), not fail the node; the lab
    # repairs the leaf and the traffic must flow.
    local rt rc=0
    rt=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenants"]["vrf1"]["leafRT"])' $LAB/lab.json) || return 1
    vtysh -N leaf -c 'configure terminal' -c 'router bgp 64497 vrf vr.vrf1' -c 'address-family l2vpn evpn' \
        -c "no route-target import $rt" >/dev/null
    sleep 2
    vtysh -N leaf -c 'configure terminal' -c 'router bgp 64497 vrf vr.vrf1' -c 'address-family l2vpn evpn' \
        -c "route-target import $rt" >/dev/null
    $CHECK evpn vrf1 --timeout 20 || rc=$?
    case $rc in
        3) note "the leaf's FRR lost vrf1's router MAC and the check named the leaf (above)" ;;
        0) note "the leaf's FRR kept vrf1's router MAC (this FRR does not lose it): nothing to repair" ;;
        *) echo "check.py evpn failed on the node's side (rc $rc) after a change on the leaf only"; return 1 ;;
    esac
    traffic vrf1
}

issue15_control() {
    # Negative control for the session check (and the proof of the
    # router-id problem): the default instance given the underlay router-id
    # the VRF instances carry. Every dv./vd. session must then fail, and the
    # check must say so.
    vtysh -N node -c 'configure terminal' -c 'router bgp 64510' -c "bgp router-id $ROUTER_ID" >/dev/null
    if $CHECK sessions "$CURRENT" --timeout 30; then
        echo "the session check passed although both ends share one router-id"; return 1
    fi
    grep -h "Bad BGP Identifier" $RUN/node-bgpd.log | tail -n 2 | grep . || { echo "no Bad BGP Identifier in bgpd's log"; return 1; }
    vtysh -N node -c 'configure terminal' -c 'router bgp 64510' -c "bgp router-id 198.51.100.254" >/dev/null
    $CHECK sessions "$CURRENT" --timeout 180
}

keep_shell() {
    cat <<EOF

The lab is up. Namespaces: node (FRR pathspace 'node'), leaf (pathspace
'leaf'), cluster (the pod, 198.51.100.2), t.vrf1 t.vrf2 t.vrf3 (tenant hosts).
  ip netns exec t.vrf1 ping 198.51.100.2
  vtysh -N node            # the node's FRR;  vtysh -N leaf for the leaf
  ip -n node -d link; ip -n node route show vrf vr.vrf1
  $APPLY plan --netns node --config $CONFIG $LAB/intents/<STATE>
  $APPLY bpf stats
  $CHECK leaks $LAB/intents/<STATE>
Files: $RUN (configs, daemon logs), $OUT (lab log, dumps).
Leave the shell (exit) to power the guest off.
EOF
    cd $RUN && bash -i <&7 >&8 2>&8
}

# ------------------------------------------------------------------ the run
CURRENT=$LAB/intents/1-initial
note "guest kernel $(uname -r), $(nproc) CPUs"
modprobe vrf 2>/dev/null; modprobe vxlan 2>/dev/null; modprobe dummy 2>/dev/null
phase topology topology
phase frr-start-node start_node_frr
phase frr-start-leaf start_leaf_frr
phase apply-1-initial apply_intent $LAB/intents/1-initial
# vrf1's route target is set on the leaf, vrf2's on the node (vrfConfig.rt).
phase traffic traffic vrf1 vrf2
phase issue15-control issue15_control
phase apply-2-changed apply_intent $LAB/intents/2-changed
# The checks discriminate: the previous intent's expectations now fail.
phase leaks-discriminate bash -c "! $CHECK leaks $LAB/intents/1-initial --timeout 0"
phase apply-3-vrf3-added apply_intent $LAB/intents/3-vrf3-added
phase apply-4-vrf2-removed apply_intent $LAB/intents/4-vrf2-removed
phase fault-refused refused
phase fault-killed killed
# vrf2 was removed (apply-4) and added back (fault-killed): its traffic and
# the leaf's router MAC/next hops for its L3 VNI, both families.
phase traffic-vrf2-readded traffic vrf2
phase fault-frr-restart frr_restart
# After the restart FRR 8.4 loses vrf2's router MAC in the whole reload; the
# reconcile takes vx.vrf2 down and up (README "The lab").
phase traffic-after-faults traffic vrf1 vrf2
phase fault-rmac-lost rmac_lost
# The same FRR 8.4 loss on the leaf: named as the fabric's, repaired there.
phase fault-leaf-rmac-lost leaf_rmac_lost
finish
