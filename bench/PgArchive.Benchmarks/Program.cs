using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using PgArchive.Benchmarks;

// dotnet run -c Release --project bench/PgArchive.Benchmarks [-- BenchmarkDotNet arguments, e.g. --filter *Codec*]
// Runs as root (the PostgreSQL recipe runs the server as the postgres OS user) on Debian 12 with PostgreSQL 15.
var directory = Directory.CreateTempSubdirectory("pgarchive-bench-").FullName;
if (!OperatingSystem.IsWindows())
{
    File.SetUnixFileMode(directory, (UnixFileMode)0b111_101_101); // the server's OS user must reach its cluster below
}
try
{
    await BenchmarkInputs.PrepareAsync(directory);
    foreach (var (name, path) in BenchmarkInputs.Files)
    {
        Console.WriteLine($"input {name}: {new FileInfo(path).Length} bytes");
    }

    // In-process (the inputs and size records are shared with the columns); a short job: 2-core shared machine.
    var job = Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(1)
        .WithIterationCount(5)
        .WithInvocationCount(1)
        .WithUnrollFactor(1);
    var config = ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(job)
        .AddColumn(new ThroughputColumn(ratio: false), new ThroughputColumn(ratio: true))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
    BenchmarkSwitcher.FromTypes([typeof(CodecBenchmarks), typeof(EncryptionBenchmarks), typeof(WalParseBenchmarks)]).Run(args.Length > 0 ? args : ["--filter", "*"], config);
}
finally
{
    Directory.Delete(directory, recursive: true);
}
