// Counts the public types (top-level and nested, as a caller can see them) of each built package assembly.
// Usage: dotnet fsi scripts/public-types.fsx [Configuration]   (after a build; Debug by default)
open System
open System.IO
open System.Reflection
open System.Reflection.Metadata
open System.Reflection.PortableExecutable

let root = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, ".."))
let configuration = match fsi.CommandLineArgs with [| _; c |] -> c | _ -> "Debug"

let rec isVisible (reader: MetadataReader) (handle: TypeDefinitionHandle) =
    let t = reader.GetTypeDefinition handle
    match t.Attributes &&& TypeAttributes.VisibilityMask with
    | TypeAttributes.Public -> true
    | TypeAttributes.NestedPublic | TypeAttributes.NestedFamily | TypeAttributes.NestedFamORAssem ->
        isVisible reader (t.GetDeclaringType())
    | _ -> false

let mutable missing = false
for dir in Directory.GetDirectories(Path.Combine(root, "src")) |> Array.sort do
    let name = Path.GetFileName dir
    let dll = Path.Combine(dir, "bin", configuration, "net10.0", name + ".dll")
    if File.Exists dll then
        use stream = File.OpenRead dll
        use pe = new PEReader(stream)
        let reader = pe.GetMetadataReader()
        let visible = reader.TypeDefinitions |> Seq.filter (isVisible reader) |> Seq.toList
        let nested = visible |> List.filter (fun h -> not ((reader.GetTypeDefinition h).GetDeclaringType().IsNil)) |> List.length
        printfn "%-24s %4d public types (%d of them nested)" name visible.Length nested
    else
        eprintfn "%s: not built (%s)" name dll
        missing <- true
if missing then exit 1
