using System.Security.Cryptography.X509Certificates;
using ChatPlatform.Gateway.Hosting;

namespace ChatPlatform.Gateway.Tests;

public class TlsCertificateTests
{
    [Fact]
    public void The_development_certificate_covers_localhost_and_loopback_and_has_its_key()
    {
        using var certificate = TlsCertificate.CreateSelfSigned();

        certificate.HasPrivateKey.ShouldBeTrue();
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        names.EnumerateDnsNames().ShouldContain("localhost");
        names.EnumerateIPAddresses().Select(address => address.ToString()).ShouldContain("127.0.0.1");
        certificate.NotAfter.ShouldBeGreaterThan(DateTime.Now.AddDays(300));
    }
}
