using System.IO.Compression;
using System.Xml.Linq;

[assembly: AssemblyFixture(typeof(PgArchive.Packaging.LocalFeed))]

namespace PgArchive.Packaging;

/// <summary>The packages as a user gets them: packed, installed from a folder feed, used from a fresh project.</summary>
public sealed class PackagesTests(LocalFeed feed)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_src_project_is_packed_with_symbols_readme_licence_and_repository()
    {
        var projects = Directory.GetDirectories(Path.Combine(feed.RepositoryRoot, "src")).Select(Path.GetFileName).ToList();
        Assert.NotEmpty(projects);
        foreach (var project in projects)
        {
            var package = Path.Combine(feed.Directory, $"{project}.{feed.Version}.nupkg");
            Assert.True(File.Exists(package), $"{project} was not packed");
            Assert.True(File.Exists(Path.ChangeExtension(package, ".snupkg")), $"{project} has no symbol package");
            using var zip = ZipFile.OpenRead(package);
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var ns = nuspec.Root!.GetDefaultNamespace();
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value), $"{project} has no description");
            Assert.Contains("postgresql", metadata.Element(ns + "tags")?.Value ?? "", StringComparison.Ordinal);
            Assert.NotNull(metadata.Element(ns + "repository")?.Attribute("url"));
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
        }
    }

    [Fact]
    public void Every_package_readme_lists_exactly_the_packages_it_depends_on()
    {
        foreach (var project in Directory.GetDirectories(Path.Combine(feed.RepositoryRoot, "src")).Select(Path.GetFileName))
        {
            var dependencies = Dependencies(project!);
            var readme = File.ReadAllText(Path.Combine(feed.RepositoryRoot, "src", project!, "README.md"));
            var section = readme.IndexOf("## Dependencies", StringComparison.Ordinal);
            Assert.True(section >= 0, $"{project}'s README has no Dependencies section");
            // the first list of the section: one line per dependency, its id(s) in backquotes before any colon
            var listed = readme[section..].Split('\n').SkipWhile(l => !l.StartsWith("- ", StringComparison.Ordinal)).TakeWhile(l => l.StartsWith("- ", StringComparison.Ordinal))
                .SelectMany(l => System.Text.RegularExpressions.Regex.Matches(l.Split(':')[0], "`([A-Za-z0-9.]+)`").Select(m => m.Groups[1].Value))
                .ToHashSet(StringComparer.Ordinal);

            Assert.True(dependencies.SetEquals(listed),
                $"{project}: the package depends on [{string.Join(", ", dependencies.Order())}], its README lists [{string.Join(", ", listed.Order())}]");
        }
    }

    [Fact]
    public void Core_does_not_bring_in_BouncyCastle_and_OpenPgp_does()
    {
        Assert.DoesNotContain("BouncyCastle.Cryptography", Dependencies("PgArchive.Core"));
        Assert.Contains("BouncyCastle.Cryptography", Dependencies("PgArchive.OpenPgp"));
    }

    private HashSet<string> Dependencies(string project)
    {
        using var zip = ZipFile.OpenRead(Path.Combine(feed.Directory, $"{project}.{feed.Version}.nupkg"));
        var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var ns = nuspec.Root!.GetDefaultNamespace();
        return nuspec.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToHashSet(StringComparer.Ordinal);
    }

    [Fact]
    public async Task A_fresh_project_referencing_Core_from_the_feed_round_trips_wal_through_the_in_memory_store()
    {
        var consumer = Directory.CreateTempSubdirectory("pgarchive-consumer-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="local" value="{feed.Directory}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                  <packageSourceMapping>
                    <packageSource key="local"><package pattern="PgArchive.*" /></packageSource>
                    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
                  </packageSourceMapping>
                </configuration>
                """, Token);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="PgArchive.Core" Version="{feed.Version}" />
                    <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.15" />
                  </ItemGroup>
                </Project>
                """, Token);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), """
                using Microsoft.Extensions.DependencyInjection;
                using PgArchive.Storage;
                using PgArchive.Wal;

                var services = new ServiceCollection();
                services.AddPgArchive().UseInMemory();
                await using var provider = services.BuildServiceProvider();
                var archiver = provider.GetRequiredService<WalArchiver>();
                var directory = Directory.CreateTempSubdirectory().FullName;
                var segment = Path.Combine(directory, "000000010000000000000001");
                var content = new byte[1 << 20];
                Random.Shared.NextBytes(content.AsSpan(0, 4096));
                // the long page header wal-fetch checks: magic, XLP_LONG_HEADER, timeline 1, address 0/100000, 1 MiB segments
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(content, 0xD110);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(content.AsSpan(2), 2);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(4), 1);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(content.AsSpan(8), 1 << 20);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(content.AsSpan(32), 1 << 20);
                await File.WriteAllBytesAsync(segment, content);
                await archiver.PushAsync(segment);
                await archiver.FetchAsync("000000010000000000000001", Path.Combine(directory, "fetched"));
                var fetched = await File.ReadAllBytesAsync(Path.Combine(directory, "fetched"));
                var same = content.SequenceEqual(fetched);
                Console.WriteLine(same ? "round trip ok: " + string.Join(",", provider.GetRequiredService<InMemoryObjectStore>().Keys) : "round trip MISMATCH");
                Directory.Delete(directory, true);
                return same ? 0 : 1;
                """, Token);

            var (exitCode, output) = await LocalFeed.RunAsync("dotnet", ["run", "--nologo"], consumer, TimeSpan.FromMinutes(10));

            Assert.True(exitCode == 0, output);
            Assert.Contains("round trip ok: wal_005/000000010000000000000001.lz4", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(consumer, recursive: true);
        }
    }

    [Fact]
    public async Task The_cli_installs_as_a_dotnet_tool_named_pgarchive()
    {
        var tools = Directory.CreateTempSubdirectory("pgarchive-tool-").FullName;
        try
        {
            var (installCode, installOutput) = await LocalFeed.RunAsync("dotnet",
                ["tool", "install", "PgArchive.Tool", "--version", feed.Version, "--tool-path", tools, "--add-source", feed.Directory], tools, TimeSpan.FromMinutes(5));
            Assert.True(installCode == 0, installOutput);

            var (exitCode, output) = await LocalFeed.RunAsync(Path.Combine(tools, "pgarchive"), ["--help"], tools, TimeSpan.FromMinutes(1));

            Assert.Equal(0, exitCode);
            Assert.Contains("wal-push", output, StringComparison.Ordinal);
            Assert.Contains("backup-fetch", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(tools, recursive: true);
        }
    }
}
