/// The human-readable plan: one line per step in execution order, then what
/// is left alone and why.
public enum Report {
    public static func text(_ plan: Plan) -> String {
        var out = ""
        if !plan.problems.isEmpty {
            for p in plan.problems { out += "error: \(p)\n" }
            out += "refused: \(plan.problems.count) problem\(plan.problems.count == 1 ? "" : "s"); nothing would be changed\n"
        } else if plan.inSync {
            out += "in sync: \(plan.wantedLinks) link\(plan.wantedLinks == 1 ? "" : "s") as the op list wants them; nothing to change\n"
        } else {
            out += "\(plan.steps.count) change\(plan.steps.count == 1 ? "" : "s") pending:\n"
            for s in plan.steps { out += "  \(s.report)\n" }
        }
        out += trailer(plan)
        return out
    }

    /// Foreign links, notes and the router-program status.
    public static func trailer(_ plan: Plan) -> String {
        var out = ""
        for f in plan.foreign {
            out += "left alone: \(f.link) (\(f.kind ?? "no type")): \(f.why)\n"
        }
        for n in plan.notes { out += "note: \(n)\n" }
        if !plan.routerAvailable && !plan.routerAttachments.isEmpty {
            let why = plan.routerStateUnreadable
                ? "its state could not be read (see the note)"
                : "not available in this build (no tc router attacher linked)"
            out += "router attachment: \(why); not checked or attached on: \(plan.routerAttachments.joined(separator: ", "))\n"
        }
        return out
    }
}
