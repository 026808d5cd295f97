using Amazon.S3;
using Azure.Storage.Blobs;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Storage;

namespace PgArchive.Packaging;

/// <summary>
/// The storage providers as one family: the same files under the same names, and the same ways to register them.
/// A provider is named by the storage service (type prefix and Use method alike): S3, Swift, AzureBlob, Gcs.
/// </summary>
public sealed class ProviderShapeTests
{
    /// <summary>Package folder, the prefix of its types and Use method, its extension class, options and the SDK client it accepts.</summary>
    public static TheoryData<string, string, Type, Type, Type> Providers => new()
    {
        { "PgArchive.S3", "S3", typeof(S3PgArchiveBuilderExtensions), typeof(S3ObjectStoreOptions), typeof(IAmazonS3) },
        { "PgArchive.Swift", "Swift", typeof(SwiftPgArchiveBuilderExtensions), typeof(SwiftObjectStoreOptions), typeof(HttpClient) },
        { "PgArchive.Azure", "AzureBlob", typeof(AzureBlobPgArchiveBuilderExtensions), typeof(AzureBlobObjectStoreOptions), typeof(BlobContainerClient) },
        { "PgArchive.Gcs", "Gcs", typeof(GcsPgArchiveBuilderExtensions), typeof(GcsObjectStoreOptions), typeof(StorageClient) },
    };

    [Theory]
    [MemberData(nameof(Providers))]
    public void Provider_registers_with_no_argument_an_options_action_a_configuration_section_the_callers_sdk_client_and_a_name(
        string package, string prefix, Type extensions, Type options, Type client)
    {
        var configure = typeof(Action<>).MakeGenericType(options);
        var expected = new[]
        {
            new[] { typeof(IPgArchiveBuilder) },
            new[] { typeof(IPgArchiveBuilder), configure },
            new[] { typeof(IPgArchiveBuilder), typeof(IConfigurationSection) },
            new[] { typeof(IPgArchiveBuilder), client, configure },
            new[] { typeof(IPgArchiveBuilder), typeof(string), configure }, // a named store: second repository, failover storage
        };
        var overloads = extensions.GetMethods().Where(m => m.Name == "Use" + prefix && m.ReturnType == typeof(IPgArchiveBuilder))
            .Select(m => string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))).ToHashSet();
        foreach (var parameters in expected)
        {
            var signature = string.Join(", ", parameters.Select(p => p.Name));
            Assert.True(overloads.Contains(signature), $"{package}: {extensions.Name}.Use{prefix}({signature}) is missing; it has: {string.Join(" | ", overloads)}");
        }

        Assert.Equal("Microsoft.Extensions.DependencyInjection", extensions.Namespace);
        Assert.Equal(prefix + "ObjectStoreOptions", options.Name);
    }

    [Fact]
    public void Every_provider_package_has_the_same_files_under_the_same_names()
    {
        var root = FindRepositoryRoot();
        var lists = Providers.Select(row => (string)row.Data.Item1 is var package ? (package, Files(root, package, (string)row.Data.Item2)) : default).ToList();
        var first = lists[0];
        Assert.Equal(
            ["Log.cs", "PgArchive.{Package}.csproj", "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt", "README.md",
             "{P}ObjectStore.cs", "{P}ObjectStoreOptions.cs", "{P}ObjectStoreOptionsValidator.cs", "{P}PgArchiveBuilderExtensions.cs"],
            first.Item2);
        foreach (var (package, files) in lists.Skip(1))
        {
            Assert.True(first.Item2.SequenceEqual(files), $"{package} has [{string.Join(", ", files)}], {first.package} has [{string.Join(", ", first.Item2)}]");
        }
    }

    // The files at the top of a package folder, named with the provider's prefix replaced by {P}. A provider's own
    // helpers (an authenticator, an HTTP client factory) live in its Internal/ folder.
    private static List<string> Files(string root, string package, string prefix) =>
        Directory.GetFiles(Path.Combine(root, "src", package))
            .Select(Path.GetFileName)
            .Select(name => name!.StartsWith(prefix, StringComparison.Ordinal) ? "{P}" + name[prefix.Length..] : name!)
            .Select(name => name == package + ".csproj" ? "PgArchive.{Package}.csproj" : name)
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PgArchive.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
