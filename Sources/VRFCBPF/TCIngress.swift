import CBPF
import Glibc
import VRFCNetlink

/// The router's view of clsact ingress: VRFCNetlink does the tc requests
/// (qdisc, filters, dumps); here they get vrfc's errors and the program
/// behind each filter is asked of the kernel (libbpf). Works in the calling
/// thread's network namespace, over the socket the caller opened there.
enum TCIngress {
    /// A socket for a series of tc requests.
    static func socket(_ interface: String) throws(BPFError) -> NetlinkSocket {
        do {
            return try NetlinkSocket()
        } catch {
            throw .tc(operation: "open rtnetlink socket", interface: interface, errno: error.code ?? EIO)
        }
    }

    /// The caller's socket, else a new one.
    private static func use(_ socket: NetlinkSocket?, _ interface: String) throws(BPFError) -> NetlinkSocket {
        if let socket { return socket }
        return try self.socket(interface)
    }

    /// Adds the clsact qdisc unless there is one; true when this call added it.
    @discardableResult
    static func ensureClsact(_ socket: NetlinkSocket? = nil, ifindex: Int32, name: String) throws(BPFError) -> Bool {
        let socket = try use(socket, name)
        do {
            return try socket.addClsact(ifindex: ifindex, name: name)
        } catch {
            throw .tc("add clsact qdisc", name, error)
        }
    }

    /// Deletes the clsact qdisc when neither its ingress nor its egress hook
    /// holds a filter (so nobody else's filter goes with it); true when it
    /// was deleted or was already gone.
    static func removeClsactIfEmpty(_ socket: NetlinkSocket? = nil, ifindex: Int32, name: String) throws(BPFError) -> Bool {
        let socket = try use(socket, name)
        guard try filters(socket, ifindex: ifindex, name: name).isEmpty,
            try filters(socket, ifindex: ifindex, name: name, hook: .egress).isEmpty
        else { return false }
        do {
            try socket.deleteClsact(ifindex: ifindex, name: name)
        } catch  where error.code == ENOENT || error.code == ENODEV || error.code == EINVAL {
            // Gone already (the qdisc or the interface).
        } catch {
            throw .tc("delete clsact qdisc", name, error)
        }
        return true
    }

    /// Every vrfc router instance on the clsact ingress hooks of the calling
    /// thread's network namespace, by ifindex: the kernel's own account of
    /// what runs where (filter → program id → program info → map ids),
    /// which needs no pins.
    static func routerInstances(_ socket: NetlinkSocket) throws(BPFError) -> [Int32: [(filter: TCFilter, info: ProgramInfo)]] {
        let withClsact: Set<Int32>
        do {
            withClsact = try socket.clsactInterfaces()
        } catch {
            throw .tc("list qdiscs", "any", error)
        }
        var result: [Int32: [(filter: TCFilter, info: ProgramInfo)]] = [:]
        for ifindex in withClsact.sorted() {
            let found: [TCFilter]
            do {
                found = try filters(socket, ifindex: ifindex, name: "ifindex \(ifindex)")
            } catch .interfaceNotFound {
                continue  // gone since the qdisc dump
            }
            for f in found where f.kind == "bpf" {
                guard let id = f.programID, let info = try ProgramInfo.read(id: id),
                    info.identity.name == VRFC_PROG_NAME_STR
                else { continue }
                result[ifindex, default: []].append((f, info))
            }
        }
        return result
    }

    /// Attaches `programFD` at (priority, handle) in direct-action mode; a
    /// filter already there is replaced in place (cls_bpf swaps the program
    /// atomically, so packets never meet an empty slot).
    static func attach(
        _ socket: NetlinkSocket? = nil, programFD: Int32, ifindex: Int32, name: String,
        priority: UInt16, handle: UInt32
    ) throws(BPFError) {
        let socket = try use(socket, name)
        // The label `tc filter show` prints, as tc and libbpf write it.
        let info = try ProgramInfo.read(fd: programFD)
        do {
            try socket.attachBPF(
                programFD: programFD, label: "\(info.identity.name):[\(info.id)]", ifindex: ifindex,
                name: name, priority: priority, handle: handle, replace: true)
        } catch {
            throw .tc("attach at priority \(priority) handle 0x\(String(handle, radix: 16))", name, error)
        }
    }

    static func detach(_ socket: NetlinkSocket? = nil, ifindex: Int32, name: String, priority: UInt16, handle: UInt32) throws(BPFError) {
        let socket = try use(socket, name)
        do {
            try socket.deleteFilter(ifindex: ifindex, name: name, priority: priority, handle: handle)
        } catch  where error.code == ENOENT || error.code == ENODEV {
            // Gone already (interface or filter): the goal is reached.
        } catch {
            throw .tc("detach priority \(priority) handle 0x\(String(handle, radix: 16))", name, error)
        }
    }

    /// Every filter on one clsact hook of `ifindex` (empty without clsact).
    static func filters(
        _ socket: NetlinkSocket? = nil, ifindex: Int32, name: String,
        hook: ClsactHook = .ingress
    ) throws(BPFError) -> [TCFilter] {
        let socket = try use(socket, name)
        do {
            return try socket.filters(ifindex: ifindex, name: name, hook: hook)
        } catch  where error.code == ENODEV {
            throw .interfaceNotFound(name: name, ifindex: ifindex)
        } catch {
            throw .tc("list filters", name, error)
        }
    }
}

extension BPFError {
    /// A refused tc request, with the kernel's own words when it gave any.
    static func tc(_ operation: String, _ interface: String, _ e: NetlinkError) -> BPFError {
        let detail = e.kernelMessage.map { " (kernel: \($0))" } ?? (e.code == nil ? " (\(e))" : "")
        return .tc(operation: operation + detail, interface: interface, errno: e.code ?? EIO)
    }
}
