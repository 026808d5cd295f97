// Fails (exit 1) when the folders of src/PgArchive.Core depend on each other in a cycle.
// A folder depends on another when one of its files names a type declared there (or imports its namespace).
// Usage: dotnet fsi scripts/core-layers.fsx        (prints the graph, then every cycle with the references behind it)
//
// The layering it keeps (each folder may use the ones below it, never one above; test.sh runs this first):
//   DependencyInjection                                     registers everything
//   Verification, Retention, Drill                          read WAL and backups together (wal-show/verify, delete, drills)
//   Backups                                                 push, fetch, catalog, deltas
//   Streaming                                               WAL receiving, the base-backup stream
//   Wal                                                     archive_command, restore_command, prefetch
//   Postgres                                                the server session and probe
//   Storage                                                 stores, retry and authentication layers, ObjectCodec
//   Authentication                                          its key may derive from the libsodium key
//   Encryption, Compression                                 codecs
//   IO, Diagnostics, PostgresTypes, (root)                  no other folder: Diagnostics names no Storage/Backups/Wal
//                                                           type (an exception states its own error.kind), and
//                                                           Lsn, WalSegment, WalFileName, TimelineHistory sit in
//                                                           PostgresTypes so that Postgres and Wal both can use them
open System
open System.IO
open System.Text.RegularExpressions

let core = Path.GetFullPath(Path.Combine(__SOURCE_DIRECTORY__, "..", "src", "PgArchive.Core"))
let folderOf (file: string) =
    let rel = Path.GetRelativePath(core, file)
    match rel.Split(Path.DirectorySeparatorChar) with
    | [| _ |] -> "(root)"
    | parts -> parts[0]

let files =
    Directory.GetFiles(core, "*.cs", SearchOption.AllDirectories)
    |> Array.filter (fun f -> not (f.Contains("/obj/") || f.Contains("/bin/")))

// Comments and string literals out, so that prose naming a type is not a dependency.
let strip (text: string) =
    let noBlock = Regex.Replace(text, @"/\*.*?\*/", "", RegexOptions.Singleline)
    let noLine = Regex.Replace(noBlock, @"//[^\n]*", "")
    Regex.Replace(noLine, "\"(?:[^\"\\\\\\n]|\\\\.)*\"", "\"\"")

let sources = files |> Array.map (fun f -> f, folderOf f, strip (File.ReadAllText f))
let declared =
    sources
    |> Array.collect (fun (_, folder, text) ->
        [| for m in Regex.Matches(text, @"\b(?:class|struct|interface|enum|record|delegate\s+\w+)\s+([A-Z]\w*)") -> m.Groups[1].Value, folder |])
    |> Array.groupBy fst
    |> Array.choose (fun (name, folders) ->
        match folders |> Array.map snd |> Array.distinct with
        | [| folder |] -> Some(name, folder)
        | _ -> None) // a name declared in two folders says nothing about which one is meant
    |> dict

let edges = Collections.Generic.Dictionary<string * string, Collections.Generic.HashSet<string>>()
for (file, folder, text) in sources do
    let add target why =
        if target <> folder && target <> "(root)" then
            let key = (folder, target)
            if not (edges.ContainsKey key) then edges[key] <- Collections.Generic.HashSet()
            edges[key].Add(sprintf "%s: %s" (Path.GetFileName file) why) |> ignore
    for m in Regex.Matches(text, @"^using\s+PgArchive\.(\w+)", RegexOptions.Multiline) do
        add m.Groups[1].Value ("using PgArchive." + m.Groups[1].Value)
    for m in Regex.Matches(text, @"\b[A-Z]\w*\b") do
        match declared.TryGetValue m.Value with
        | true, target -> add target m.Value
        | _ -> ()

let nodes = edges.Keys |> Seq.collect (fun (a, b) -> [ a; b ]) |> Seq.distinct |> Seq.sort |> Seq.toList
let next a = edges.Keys |> Seq.filter (fun (x, _) -> x = a) |> Seq.map snd |> Seq.toList

// Tarjan's strongly connected components: any with more than one folder is a cycle.
let index = Collections.Generic.Dictionary<string, int>()
let low = Collections.Generic.Dictionary<string, int>()
let stack = Collections.Generic.Stack<string>()
let onStack = Collections.Generic.HashSet<string>()
let components = Collections.Generic.List<string list>()
let rec visit v =
    index[v] <- index.Count
    low[v] <- index[v]
    stack.Push v
    onStack.Add v |> ignore
    for w in next v do
        if not (index.ContainsKey w) then
            visit w
            low[v] <- min low[v] low[w]
        elif onStack.Contains w then
            low[v] <- min low[v] index[w]
    if low[v] = index[v] then
        let mutable members = []
        let mutable finished = false
        while not finished do
            let w = stack.Pop()
            onStack.Remove w |> ignore
            members <- w :: members
            finished <- (w = v)
        components.Add members
for v in nodes do
    if not (index.ContainsKey v) then visit v

for a in nodes do
    match next a |> List.sort with
    | [] -> ()
    | targets -> printfn "%s -> %s" a (String.Join(", ", targets))

let cycles = components |> Seq.filter (fun c -> c.Length > 1) |> Seq.toList
if cycles.IsEmpty then
    printfn "no cycle among the folders of PgArchive.Core"
else
    for c in cycles do
        let members = List.sort c
        printfn ""
        printfn "cycle: %s" (String.Join(" <-> ", members))
        for a in members do
            for b in members do
                match edges.TryGetValue((a, b)) with
                | true, why -> printfn "  %s -> %s: %s" a b (String.Join("; ", why |> Seq.sort |> Seq.truncate 4))
                | _ -> ()
    exit 1
