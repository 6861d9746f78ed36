import Testing

@testable import VRFCFRR

/// The template engine follows Mustache's rules for the tags it supports.
/// It is generic over its context: these tests give it one of their own,
/// which knows nothing of FRR.
@Suite struct TemplateEngineTests {
    enum Key: String, TemplateKey {
        case name, vni, items, seq, ge, le, hasVRFs, list
        init?(name: String) { self.init(rawValue: name) }
    }
    typealias Value = TemplateValue<Key>
    typealias Template = VRFCFRR.Template<Key>

    final class Obj: TemplateObject, Sendable {
        let fields: [Key: Value]
        init(fields: [Key: Value]) { self.fields = fields }
        func value(for key: Key) -> Value? { fields[key] }
    }

    final class Items: TemplateList, Sendable {
        let items: [Value]
        init(items: [Value]) { self.items = items }
        var count: Int { items.count }
        func element(_ i: Int) -> Value { items[i] }
    }

    func render(_ template: String, _ fields: [Key: Value]) throws -> String {
        try Template(parsing: template).render(.object(Obj(fields: fields)))
    }

    @Test func variablesAreInsertedAsIs() throws {
        #expect(try render("a {{name}} b {{vni}}", [.name: .string("x&<y>"), .vni: .int(-42)]) == "a x&<y> b -42")
        #expect(try render("[{{unknownThing}}]", [:]) == "[]")
        #expect(try render("{{{name}}}{{& name}}", [.name: .string("q")]) == "qq")
    }

    @Test func standaloneTagLinesDisappear() throws {
        let t = "a\n  {{#items}}\n- {{.}}\n  {{/items}}\nb\n{{! note }}\nc\n"
        let out = try render(t, [.items: .list(Items(items: [.int(1), .int(2)]))])
        #expect(out == "a\n- 1\n- 2\nb\nc\n")
    }

    @Test func inlineSectionsKeepTheirLine() throws {
        #expect(try render("x{{#ge}} ge {{.}}{{/ge}}{{#le}} le {{.}}{{/le}}\n", [.ge: .int(24)]) == "x ge 24\n")
    }

    @Test func invertedAndBooleanSections() throws {
        let t = "{{#hasVRFs}}yes{{/hasVRFs}}{{^hasVRFs}}no{{/hasVRFs}}|{{^items}}empty{{/items}}"
        #expect(try render(t, [.hasVRFs: .bool(true), .items: .list(Items(items: []))]) == "yes|empty")
        #expect(try render(t, [.hasVRFs: .bool(false)]) == "no|empty")
    }

    @Test func namesResolveThroughTheContextStack() throws {
        let inner = Value.object(Obj(fields: [.seq: .int(5)]))
        let t = "{{#items}}{{name}}:{{seq}} {{/items}}{{#list}}{{list.name}}{{/list}}"
        let out = try render(
            t,
            [
                .name: .string("outer"), .items: .list(Items(items: [inner, inner])),
                .list: .object(Obj(fields: [.name: .string("dotted")])),
            ])
        #expect(out == "outer:5 outer:5 dotted")
    }

    @Test func malformedTemplatesAreRefusedWithTheirLine() {
        #expect(throws: TemplateError(line: 2, message: "{{#items}} is never closed")) { try Template(parsing: "a\n{{#items}}\n") }
        #expect(throws: TemplateError(line: 1, message: "{{/items}} closes {{#vrfs}}")) { try Template(parsing: "{{#vrfs}}{{/items}}") }
        #expect(throws: TemplateError(line: 1, message: "unclosed tag")) { try Template(parsing: "{{name") }
        #expect(throws: TemplateError(line: 1, message: "partials ({{>x}}) are not supported")) { try Template(parsing: "{{>x}}") }
    }

    /// The FRR backend renders long top-level lists in parallel ranges; the
    /// bytes must be those of one pass, and the budget must hold across them.
    @Test func longListsRenderTheSameInPieces() throws {
        let n = FRRBackend.parallelListThreshold * 3 + 17
        let items = Items(items: (0..<n).map { Value.object(Obj(fields: [.seq: .int($0)])) })
        let t = try Template(parsing: "head {{name}}\n{{#items}}\n{{name}}:{{seq}}\n{{/items}}\ntail\n")
        let root = Value.object(Obj(fields: [.name: .string("n"), .items: .list(items)]))
        var pieces: [UInt8] = []
        try FRRBackend.render(t, root, into: &pieces, budget: .standard)
        let expected = "head n\n" + (0..<n).map { "n:\($0)\n" }.joined() + "tail\n"
        #expect(String(decoding: pieces, as: UTF8.self) == expected)
        #expect(try t.render(root) == expected)
        // A budget the one pass exceeds is exceeded in pieces too, at the section's line.
        #expect(throws: TemplateError.overBudget(line: 2, TemplateBudget(steps: n, bytes: 1 << 30))) {
            var out: [UInt8] = []
            try FRRBackend.render(t, root, into: &out, budget: TemplateBudget(steps: n, bytes: 1 << 30))
        }
    }

    @Test func everyShippedTemplateParses() throws {
        for hint in Hint.allCases {
            #expect(!TemplateSet.shippedSource(hint).isEmpty, "\(hint)")
            _ = try SectionTemplate(parsing: TemplateSet.shippedSource(hint))
        }
    }
}
