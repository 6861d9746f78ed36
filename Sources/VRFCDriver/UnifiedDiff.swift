import VRFCModel

/// Line-based unified diff (Myers' O(ND) algorithm), as `diff -u` prints it,
/// for `vrfc compile --check`.
public enum UnifiedDiff {
    /// nil when equal.
    public static func diff(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String? {
        if old == new { return nil }
        let a = lines(old)
        let b = lines(new)
        let script = editScript(a, b)
        var out = "--- \(oldName)\n+++ \(newName)\n"
        for hunk in hunks(script, context: context) {
            let oldStart = hunk.first!.oldIndex
            let newStart = hunk.first!.newIndex
            let oldCount = hunk.filter { $0.kind != .insert }.count
            let newCount = hunk.filter { $0.kind != .delete }.count
            out += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n"
            for e in hunk {
                switch e.kind {
                case .equal: out += " " + a[e.oldIndex] + "\n"
                case .delete: out += "-" + a[e.oldIndex] + "\n"
                case .insert: out += "+" + b[e.newIndex] + "\n"
                }
            }
        }
        if old.hasSuffix("\n") != new.hasSuffix("\n") {
            out += "\\ the files differ in their final newline\n"
        }
        return out
    }

    static func range(_ start: Int, _ count: Int) -> String {
        count == 0 ? "\(start),0" : count == 1 ? "\(start + 1)" : "\(start + 1),\(count)"
    }

    static func lines(_ s: String) -> [Substring] {
        // At LF bytes: a Character-based split would take CR LF as one
        // grapheme and a CRLF file as one line.
        TextLines.splitAtLF(s)
    }

    enum Kind { case equal, delete, insert }

    struct Edit {
        var kind: Kind
        var oldIndex: Int
        var newIndex: Int
    }

    /// The shortest edit script. Common prefix and suffix are matched first,
    /// so the quadratic part only sees the changed middle.
    static func editScript(_ a: [Substring], _ b: [Substring]) -> [Edit] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        var edits: [Edit] = (0..<prefix).map { Edit(kind: .equal, oldIndex: $0, newIndex: $0) }
        edits += myers(Array(a[prefix..<(a.count - suffix)]), Array(b[prefix..<(b.count - suffix)]))
            .map { Edit(kind: $0.kind, oldIndex: $0.oldIndex + prefix, newIndex: $0.newIndex + prefix) }
        edits += (0..<suffix).map { Edit(kind: .equal, oldIndex: a.count - suffix + $0, newIndex: b.count - suffix + $0) }
        return edits
    }

    static func myers(_ a: [Substring], _ b: [Substring]) -> [Edit] {
        let n = a.count
        let m = b.count
        let max = n + m
        if max == 0 { return [] }
        // Past this many differences the trace would be too large to keep;
        // a delete-all/insert-all script is still a correct diff.
        if max > 40_000 && n > 0 && m > 0 {
            let d = (0..<n).map { Edit(kind: .delete, oldIndex: $0, newIndex: 0) }
            return d + (0..<m).map { Edit(kind: .insert, oldIndex: n, newIndex: $0) }
        }
        var v = [Int](repeating: 0, count: 2 * max + 2)
        var trace: [[Int]] = []
        let offset = max + 1
        outer: for d in 0...max {
            trace.append(v)
            for k in stride(from: -d, through: d, by: 2) {
                var x: Int
                if k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) {
                    x = v[offset + k + 1]
                } else {
                    x = v[offset + k - 1] + 1
                }
                var y = x - k
                while x < n, y < m, a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[offset + k] = x
                if x >= n && y >= m {
                    trace.append(v)
                    break outer
                }
            }
        }
        // Walk the trace back from (n, m).
        var edits: [Edit] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 2, through: 0, by: -1) {
            let v = trace[d]
            let k = x - y
            let prevK = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1])) ? k + 1 : k - 1
            let prevX = v[offset + prevK]
            let prevY = prevX - prevK
            while x > prevX, y > prevY {
                x -= 1
                y -= 1
                edits.append(Edit(kind: .equal, oldIndex: x, newIndex: y))
            }
            if d > 0 {
                if x == prevX {
                    y -= 1
                    edits.append(Edit(kind: .insert, oldIndex: x, newIndex: y))
                } else {
                    x -= 1
                    edits.append(Edit(kind: .delete, oldIndex: x, newIndex: y))
                }
            }
        }
        return edits.reversed()
    }

    /// Groups edits into hunks with `context` equal lines around each change.
    static func hunks(_ edits: [Edit], context: Int) -> [[Edit]] {
        var result: [[Edit]] = []
        let changes = edits.indices.filter { edits[$0].kind != .equal }
        guard !changes.isEmpty else { return [] }
        var start = Swift.max(0, changes[0] - context)
        var end = Swift.min(edits.count - 1, changes[0] + context)
        for c in changes.dropFirst() {
            if c - context <= end + 1 {
                end = Swift.min(edits.count - 1, c + context)
            } else {
                result.append(Array(edits[start...end]))
                start = Swift.max(0, c - context)
                end = Swift.min(edits.count - 1, c + context)
            }
        }
        result.append(Array(edits[start...end]))
        return result
    }
}
