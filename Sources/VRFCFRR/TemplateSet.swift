import Foundation
import VRFCModel

/// The section templates: the shipped ones (compiled in from `templates/`),
/// each optionally replaced by a file of the same name in `--templates DIR`.
public struct TemplateSet: Sendable {
    let templates: [Hint: SectionTemplate]
    /// Where each template came from, for messages and `--help`.
    public let origins: [Hint: String]

    public static let shipped: TemplateSet = {
        do {
            return try TemplateSet(overrides: nil)
        } catch {
            // The build embeds templates/ and the tests render every one of
            // them, so a failure here is a broken build, not bad input.
            fatalError("shipped templates do not parse: \(error)")
        }
    }()

    /// Source text of a shipped template, e.g. for `vrfc templates`.
    public static func shippedSource(_ hint: Hint) -> String {
        String(decoding: EmbeddedTemplates.files[hint.templateName] ?? [], as: UTF8.self)
    }

    static let maxTemplateBytes = 16 << 20

    public init(overrides directory: String?) throws(Diagnostics) {
        var texts: [Hint: (String, String)] = [:]
        for hint in Hint.allCases {
            texts[hint] = (Self.shippedSource(hint), "shipped \(hint.templateName).mustache")
        }
        var diags: [Diagnostic] = []
        if let directory {
            let known = Dictionary(uniqueKeysWithValues: Hint.allCases.map { ($0.templateName + ".mustache", $0) })
            let entries: [String]
            do {
                entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            } catch {
                throw Diagnostics([
                    Diagnostic(
                        SourceLocation(file: directory), "cannot read the templates directory",
                        fix: "pass a directory holding some of: " + known.keys.sorted().joined(separator: ", "))
                ])
            }
            for entry in entries where entry.hasSuffix(".mustache") {
                let path = (directory as NSString).appendingPathComponent(entry)
                guard let hint = known[entry] else {
                    diags.append(
                        Diagnostic(
                            SourceLocation(file: path), "unknown template name",
                            fix: "name it one of " + known.keys.sorted().joined(separator: ", ")))
                    continue
                }
                // Only regular files of a sane size: a FIFO would block, a device never end.
                let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).resolvingSymlinksInPath)
                guard attributes?[.type] as? FileAttributeType == .typeRegular,
                    let size = attributes?[.size] as? NSNumber, size.intValue <= Self.maxTemplateBytes
                else {
                    diags.append(
                        Diagnostic(
                            SourceLocation(file: path), "not a regular file of at most \(Self.maxTemplateBytes >> 20) MiB",
                            fix: "templates are small text files"))
                    continue
                }
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    diags.append(Diagnostic(SourceLocation(file: path), "cannot read the template as UTF-8 text"))
                    continue
                }
                switch TextLines.normalized(text) {
                case .success(let normalized): texts[hint] = (normalized, path)
                case .failure(let e): diags.append(Diagnostic(SourceLocation(file: path, line: e.line), e.diagnostic, fix: e.fix))
                }
            }
        }
        var templates: [Hint: SectionTemplate] = [:]
        var origins: [Hint: String] = [:]
        for (hint, (text, origin)) in texts {
            do throws(TemplateError) {
                templates[hint] = try SectionTemplate(parsing: text)
                origins[hint] = origin
            } catch {
                diags.append(Diagnostic(SourceLocation(file: origin, line: error.line), "template does not parse: \(error.message)"))
            }
        }
        if !diags.isEmpty { throw Diagnostics(diags) }
        self.templates = templates
        self.origins = origins
    }

    func render(_ hint: Hint, _ view: RootView, into out: inout [UInt8], budget: TemplateBudget = .standard) -> Diagnostic? {
        do throws(TemplateError) {
            try FRRBackend.render(templates[hint]!, .object(view), into: &out, budget: budget)
            return nil
        } catch {
            return Diagnostic(SourceLocation(file: origins[hint]!, line: error.line), "template does not render: \(error.message)")
        }
    }
}
