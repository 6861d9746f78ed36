// Build tool for the EmbedTemplates plugin: writes a Swift file holding each
// template's bytes. Bytes, not a string literal, so no template text can ever
// need escaping.
import Foundation

let args = CommandLine.arguments.dropFirst()
guard let output = args.first else {
    FileHandle.standardError.write(Data("usage: EmbedTemplatesTool OUTPUT TEMPLATE...\n".utf8))
    exit(2)
}
var swift = "// Generated at build time from templates/*.mustache. Do not edit.\n"
swift += "enum EmbeddedTemplates {\n    static let files: [String: [UInt8]] = [\n"
for path in args.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let name = url.deletingPathExtension().lastPathComponent
    let bytes = try Data(contentsOf: url)
    swift += "        \"\(name)\": [" + bytes.map { String($0) }.joined(separator: ",") + "],\n"
}
swift += "    ]\n}\n"
try Data(swift.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
