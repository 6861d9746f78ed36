/// The human-readable plan: one line per step in execution order, then what
/// is left alone and why.
public enum Report {
    public static func text(_ plan: Plan) -> String {
        var out = ""
        if !plan.problems.isEmpty {
            for p in plan.problems { out += "error: \(p)\n" }
            out += "refused: \(plan.problems.count) problem\(plan.problems.count == 1 ? "" : "s"); nothing would be changed\n"
        } else if !plan.complete {
            out +=
                "incomplete: part of the state could not be read, so this plan cannot say whether the node is in sync (run it as root):\n"
            for u in plan.unreadable { out += "  unreadable: \(u)\n" }
            if !plan.steps.isEmpty {
                out += "\(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") pending at least:\n"
                for s in plan.steps { out += "  \(s.report)\n" }
            }
        } else if plan.inSync {
            var what = "\(plan.wantedLinks) link\(plan.wantedLinks == 1 ? "" : "s")"
            if plan.wantedRoutes + plan.wantedRules > 0 {
                what +=
                    ", \(plan.wantedRoutes) route\(plan.wantedRoutes == 1 ? "" : "s"), \(plan.wantedRules) rule\(plan.wantedRules == 1 ? "" : "s")"
            }
            out +=
                plan.unresolved.isEmpty
                ? "in sync: \(what) as the op list wants them; nothing to change\n"
                : "in sync but for \(plan.unresolved.count) unresolved route\(plan.unresolved.count == 1 ? "" : "s") (below): \(what) as the op list wants them; nothing else to change\n"
        } else {
            out += "\(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") pending:\n"
            for s in plan.steps { out += "  \(s.report)\n" }
        }
        out += trailer(plan)
        return out
    }

    /// Foreign links, foreign ports, notes and the router-program status.
    public static func trailer(_ plan: Plan) -> String {
        var out = ""
        for f in plan.foreign {
            out += "left alone: \(f.link) (\(f.kind ?? "no type")): \(f.why)\n"
        }
        for p in plan.foreignPorts {
            out += "foreign port: \(p.port) is enslaved to \(p.master), which vrfc deletes; it is not vrfc's\n"
        }
        for u in plan.unresolved { out += "unresolved: \(u)\n" }
        for n in plan.notes { out += "note: \(n)\n" }
        if !plan.routerAvailable && !plan.routerAttachments.isEmpty {
            let why =
                plan.routerStateUnreadable
                ? "its state could not be read (see above)"
                : "not read (the kernel snapshot was taken without a router attacher)"
            out += "router attachment: \(why); not checked or attached on: \(plan.routerAttachments.joined(separator: ", "))\n"
        }
        return out
    }
}
