/*
 * dist.c: FAIR distributions and their samplers (see dist.h).
 *
 * Every sampler here is exact (up to floating-point rounding): the standard normal is a 256-layer
 * ziggurat (Marsaglia and Tsang 2000, with the layer index, the sign and the abscissa taken from
 * disjoint bits of one 64-bit draw, as in numpy), so it needs one draw per normal and has no spare
 * to cache; gamma is Marsaglia and Tsang 2000 (shape < 1 through the U^(1/shape) boost); beta is
 * two gammas; Poisson is inversion by chop-down search below rate 10 and Hormann's PTRS (1993)
 * above, whose slow path evaluates the log-pmf with Loader's saddle-point form (bd0 and stirlerr),
 * so it stays accurate at any rate; the normal truncated at zero is rejection from the normal when
 * at least a quarter of the mass is above zero and the inverse CDF of the upper tail otherwise.
 *
 * dist_make() picks a sampler (enum sampler) and precomputes its constants, so dist_sample() is one
 * switch with no division by a constant and no log or exp a precomputation could remove.
 */
#include "risk/dist.h"

#include "core/alloc.h"
#include "core/err.h"
#include "risk/itab.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQRT1_2 0.70710678118654752440    /* 1/sqrt(2) */
#define SQRT2PI 2.50662827463100050242    /* sqrt(2 pi) */
#define LN_SQRT2PI 0.91893853320467274178 /* log(sqrt(2 pi)) */
#define Z95 1.6448536269514722            /* the standard normal's 95th percentile */

#define POIS_INV_MAX 10.0 /* below this rate, inversion; from it, PTRS */
#define POIS_INV_CAP 64   /* inversion restarts past this count: P(X >= 64 | rate < 10) < 1e-29 */
#define TNORM_REJECT 0.25 /* truncated normal: rejection when P(X >= 0) is at least this */
#define TNORM_MAX_SD 37.0 /* ... and refused when zero is more than this many sd above the mean */
#define SHAPE_MIN 1e-300  /* beta shapes outside [SHAPE_MIN, SHAPE_MAX] would underflow or */
#define SHAPE_MAX 1e300   /* overflow the gamma draws (and give 0/0) */

enum sampler {
    S_CONST,        /* lo */
    S_BETA,         /* lo + span X/(X+Y), both shapes >= 1 */
    S_BETA_LOG,     /* the same in logs, when a shape < 1 could underflow both gammas to 0 */
    S_LOGNORMAL,    /* exp(a + b z) */
    S_POIS_INV,     /* c[0] rate, c[1] exp(-rate) */
    S_POIS_PTRS,    /* c[0] rate, a, b, c[2] vr, c[3] log(1/alpha) of PTRS */
    S_NORMAL,       /* a + b z */
    S_TNORM_REJECT, /* a + b z, again while negative */
    S_TNORM_INV,    /* a - b Phi^-1(U c[1]), c[1] = P(X >= 0) */
    S_UNIFORM,      /* lo + span U */
    S_TRIANGULAR,   /* c[0] (mode-min)/span; lo + c[1] sqrt(U) or hi - c[2] sqrt(1-U) */
    S_TABLE,        /* a beta by inversion: tab's quantile of U (risk/itab.h) */
};

/* ---- constant tables ---- */

/* Ziggurat with 256 layers of equal area v for f(x) = exp(-x^2/2), computed with mpmath at 60
 * digits (zig_r = 3.6541528853610088, v = 0.0049286732339746553). Layer i >= 1 is [0, x_i] x
 * [f(x_i), f(x_{i-1})] with x_0 = 0 < x_1 < ... < x_255 = zig_r; layer 0 is [0, zig_r] x [0,
 * f(zig_r)] plus the tail beyond zig_r, as the rectangle [0, v/f(zig_r)] x [0, f(zig_r)]. zig_w[i]
 * = x_i/2^52 (zig_w[0] = v/f(zig_r)/2^52); zig_k[i] = floor(2^52 x_{i-1}/x_i), below which a point
 * of layer i lies under the curve (zig_k[0]: floor(2^52 zig_r f(zig_r)/v)); zig_f[i] = f(x_i). */
static const double zig_r = 3.654152885361009;
static const double zig_inv_r = 0.2736612373297583;
static const uint64_t zig_k[256] = {
    0xef33d8025ef65ull, 0x0000000000000ull, 0xc08be98fbc6b6ull, 0xda354fabd8146ull,
    0xe51f67ec1eeecull, 0xeb255e9d3f77eull, 0xeef4b817ecab8ull, 0xf19470afa44abull,
    0xf37ed61ffcb17ull, 0xf4f469561255bull, 0xf61a5e41ba396ull, 0xf707a755396a4ull,
    0xf7cb2ec28449bull, 0xf86f10c6357d2ull, 0xf8fa6578325ddull, 0xf9724c74dd0daull,
    0xf9da907dbf508ull, 0xfa360f581fa72ull, 0xfa86fde5b4bf8ull, 0xfacf160d354dbull,
    0xfb0fb6718b90eull, 0xfb49f8d5374c5ull, 0xfb7ec2366fe77ull, 0xfbaece9a1e50cull,
    0xfbdab9d040bedull, 0xfc03060ff6c57ull, 0xfc2821037a248ull, 0xfc4a67ae25bd1ull,
    0xfc6a2977aee30ull, 0xfc87aa92896a4ull, 0xfca325e4bde85ull, 0xfcbcce902231aull,
    0xfcd4d12f839c4ull, 0xfceb54d8fec99ull, 0xfd007bf1dc930ull, 0xfd1464dd6c4e5ull,
    0xfd272a8e2f450ull, 0xfd38e4ff0c91eull, 0xfd49a9990b479ull, 0xfd598b8920f52ull,
    0xfd689c08e99ecull, 0xfd76ea9c8e832ull, 0xfd848547b08e8ull, 0xfd9178bad2c8bull,
    0xfd9dd07a7add2ull, 0xfda9970105e8bull, 0xfdb4d5dc02e1full, 0xfdbf95c5bfcd0ull,
    0xfdc9debb99a7dull, 0xfdd3b8118729dull, 0xfddd288342f8full, 0xfde6364369f63ull,
    0xfdeee708d514eull, 0xfdf7401a6b42eull, 0xfdff46599ed3eull, 0xfe06fe4bc24f1ull,
    0xfe0e6c225a258ull, 0xfe1593c28b84bull, 0xfe1c78cbc3f98ull, 0xfe231e9db1ca9ull,
    0xfe29885da1b91ull, 0xfe2fb8fb54186ull, 0xfe35b33558d4aull, 0xfe3b799d0002aull,
    0xfe410e99ead7eull, 0xfe46746d47734ull, 0xfe4bad34c095bull, 0xfe50baed29524ull,
    0xfe559f74ebc77ull, 0xfe5a5c8e41212ull, 0xfe5ef3e138689ull, 0xfe6366fd91077ull,
    0xfe67b75c6d578ull, 0xfe6be661e11aaull, 0xfe6ff55e5f4f2ull, 0xfe73e5900a701ull,
    0xfe77b823e9e39ull, 0xfe7b6e37070a1ull, 0xfe7f08d774242ull, 0xfe8289053f08cull,
    0xfe85efb35173bull, 0xfe893dc840864ull, 0xfe8c741f0cebcull, 0xfe8f9387d4ef6ull,
    0xfe929cc879b1cull, 0xfe95909d388eaull, 0xfe986fb939aa1ull, 0xfe9b3ac714865ull,
    0xfe9df2694b6d5ull, 0xfea0973abe67bull, 0xfea329cf166a4ull, 0xfea5aab32952cull,
    0xfea81a6d57419ull, 0xfeaa797de1cefull, 0xfeacc85f3d91full, 0xfeaf07865e63cull,
    0xfeb13762fec12ull, 0xfeb3585fe2a4aull, 0xfeb56ae3162b4ull, 0xfeb76f4e284f9ull,
    0xfeb965fe62013ull, 0xfebb4f4cf9d7cull, 0xfebd2b8f449cfull, 0xfebefb16e2e3dull,
    0xfec0be31ebde8ull, 0xfec2752b15a14ull, 0xfec42049dafd3ull, 0xfec5bfd29f196ull,
    0xfec75406ceef4ull, 0xfec8dd2500cb4ull, 0xfeca5b6911f10ull, 0xfecbcf0c427feull,
    0xfecd38454fb15ull, 0xfece97488c8b3ull, 0xfecfec47f91b7ull, 0xfed1377358528ull,
    0xfed278f844903ull, 0xfed3b10242f4cull, 0xfed4dfbad586dull, 0xfed605498c3dcull,
    0xfed721d414fe8ull, 0xfed8357e4a981ull, 0xfed9406a42cc8ull, 0xfeda42b85b704ull,
    0xfedb3c8746ab3ull, 0xfedc2df416652ull, 0xfedd171a46e52ull, 0xfeddf813c8ad2ull,
    0xfeded0f90997full, 0xfedfa1e0fd413ull, 0xfee06ae124bc4ull, 0xfee12c0d95a06ull,
    0xfee1e579006dfull, 0xfee29734b6524ull, 0xfee34150ae4bbull, 0xfee3e3db89b3cull,
    0xfee47ee2982f3ull, 0xfee51271db086ull, 0xfee59e9407f41ull, 0xfee623528b42dull,
    0xfee6a0b5897f0ull, 0xfee716c3e077aull, 0xfee7858327b81ull, 0xfee7ecf7b06b9ull,
    0xfee84d2484ab2ull, 0xfee8a60b66342ull, 0xfee8f7accc851ull, 0xfee94207e25daull,
    0xfee9851a829ebull, 0xfee9c0e13485bull, 0xfee9f557273f3ull, 0xfeea22762ccaeull,
    0xfeea4836b42abull, 0xfeea668fc2d71ull, 0xfeea7d76ed6f9ull, 0xfeea8ce04fa0aull,
    0xfeea94be8333bull, 0xfeea95029640full, 0xfeea8d9c0075dull, 0xfeea7e7897653ull,
    0xfeea678481d24ull, 0xfeea48aa29e82ull, 0xfeea21d22e4d9ull, 0xfee9f2e352024ull,
    0xfee9bbc26af2eull, 0xfee97c524f2e3ull, 0xfee93473c0a39ull, 0xfee8e40557515ull,
    0xfee88ae369c79ull, 0xfee828e7f3dfcull, 0xfee7bdea7b887ull, 0xfee749bff37ffull,
    0xfee6cc3a9bd5eull, 0xfee64529e007full, 0xfee5b45a32888ull, 0xfee51994e57b5ull,
    0xfee474a0006ceull, 0xfee3c53e12c4full, 0xfee30b2e02ad7ull, 0xfee2462ad8204ull,
    0xfee175eb83c59ull, 0xfee09a22a1447ull, 0xfedfb27e349cbull, 0xfedebea76216cull,
    0xfeddbe422047dull, 0xfedcb0ece39d3ull, 0xfedb964042cf3ull, 0xfeda6dce938c9ull,
    0xfed937237e98cull, 0xfed7f1c38a836ull, 0xfed69d2b9c02aull, 0xfed538d06adffull,
    0xfed3c41dea422ull, 0xfed23e76a2fd7ull, 0xfed0a732fe643ull, 0xfecefda07fe33ull,
    0xfecd4100eb7b8ull, 0xfecb708956eb4ull, 0xfec98b61230c0ull, 0xfec790a0da978ull,
    0xfec57f50f31fdull, 0xfec356686c961ull, 0xfec114cb4b334ull, 0xfebeb948e6fd0ull,
    0xfebc429a0b691ull, 0xfeb9af5ee0cdcull, 0xfeb6fe1c98542ull, 0xfeb42d3ad1f9eull,
    0xfeb13b00b2d4bull, 0xfeae2591a02e8ull, 0xfeaaeae992256ull, 0xfea788d8ee326ull,
    0xfea3fcffd73e5ull, 0xfea044c8dd9f6ull, 0xfe9c5d62f563aull, 0xfe9843ba947a3ull,
    0xfe93f471d4728ull, 0xfe8f6bd76c5d6ull, 0xfe8aa5dc4e8e6ull, 0xfe859e07ab1eaull,
    0xfe804f690a93full, 0xfe7ab488233bfull, 0xfe74c751f6aa5ull, 0xfe6e8102aa201ull,
    0xfe67da0b6abd8ull, 0xfe60c9f38307dull, 0xfe5947338f742ull, 0xfe51470977280ull,
    0xfe48bd436f457ull, 0xfe3f9bffd1e37ull, 0xfe35d35eeb19bull, 0xfe2b5122fe4fdull,
    0xfe20003995557ull, 0xfe13c82788314ull, 0xfe068c4ee67afull, 0xfdf82b02b71aaull,
    0xfde87c57efeaaull, 0xfdd7509c63bfdull, 0xfdc46e529bf12ull, 0xfdaf8f82e0282ull,
    0xfd985e1b2ba75ull, 0xfd7e6ef48cf04ull, 0xfd613adbd650bull, 0xfd40149e2f011ull,
    0xfd1a1a7b4c7acull, 0xfcee204761f9eull, 0xfcba8d85e11b1ull, 0xfc7d26ecd2d22ull,
    0xfc32b2f1e22ecull, 0xfbd6581c0b839ull, 0xfb606c4005433ull, 0xfac40582a2873ull,
    0xf9e971e014597ull, 0xf89fa48a41dfbull, 0xf66c5f7f0302cull, 0xf1a5a4b331c49ull,
};
static const double zig_w[256] = {
    8.6836270608013150e-16, 4.7793301757277738e-17, 6.3543524174052845e-17, 7.4548704812477160e-17,
    8.3293668157931170e-17, 9.0680604050595008e-17, 9.7148600765677816e-17, 1.0294750314241035e-16,
    1.0823430288447700e-16, 1.1311470196109048e-16, 1.1766359457022938e-16, 1.2193617278714378e-16,
    1.2597439914637105e-16, 1.2981099886264044e-16, 1.3347203736824135e-16, 1.3697864842571216e-16,
    1.4034823001242394e-16, 1.4359529452056958e-16, 1.4673208742364434e-16, 1.4976904668391052e-16,
    1.5271515003596215e-16, 1.5557818169460781e-16, 1.5836494009290900e-16, 1.6108140175274945e-16,
    1.6373285203969870e-16, 1.6632399058420850e-16, 1.6885901708676611e-16, 1.7134170176559673e-16,
    1.7377544365864874e-16, 1.7616331923001011e-16, 1.7850812316976745e-16, 1.8081240285799165e-16,
    1.8307848764826765e-16, 1.8530851388618034e-16, 1.8750444639373896e-16, 1.8966809700774774e-16,
    1.9180114064838635e-16, 1.9390512930625121e-16, 1.9598150426628837e-16, 1.9803160683128186e-16,
    2.0005668776273340e-16, 2.0205791562071661e-16, 2.0403638415480222e-16, 2.0599311887403719e-16,
    2.0792908290414027e-16, 2.0984518222370362e-16, 2.1174227035760352e-16, 2.1362115259449878e-16,
    2.1548258978581468e-16, 2.1732730177564377e-16, 2.1915597050427281e-16, 2.2096924282235330e-16,
    2.2276773304789563e-16, 2.2455202529414370e-16, 2.2632267559285693e-16, 2.2808021383450190e-16,
    2.2982514554424704e-16, 2.3155795351040818e-16, 2.3327909928004376e-16, 2.3498902453470975e-16,
    2.3668815235791619e-16, 2.3837688840454258e-16, 2.4005562198135073e-16, 2.4172472704675035e-16,
    2.4338456313711043e-16, 2.4503547622614969e-16, 2.4667779952327070e-16, 2.4831185421610892e-16,
    2.4993795016204544e-16, 2.5155638653296593e-16, 2.5316745241713597e-16, 2.5477142738169457e-16,
    2.5636858199893978e-16, 2.5795917833928682e-16, 2.5954347043351712e-16, 2.6112170470670204e-16,
    2.6269412038597266e-16, 2.6426094988411910e-16, 2.6582241916083083e-16, 2.6737874806323648e-16,
    2.6893015064726169e-16, 2.7047683548119962e-16, 2.7201900593277335e-16, 2.7355686044086806e-16,
    2.7509059277301681e-16, 2.7662039226963913e-16, 2.7814644407595451e-16, 2.7966892936242310e-16,
    2.8118802553450217e-16, 2.8270390643244797e-16, 2.8421674252184071e-16, 2.8572670107546020e-16,
    2.8723394634709804e-16, 2.8873863973784824e-16, 2.9024093995538428e-16, 2.9174100316669460e-16,
    2.9323898314471826e-16, 2.9473503140929354e-16, 2.9622929736280670e-16, 2.9772192842090294e-16,
    2.9921307013860136e-16, 3.0070286633213315e-16, 3.0219145919680625e-16, 3.0367898942118023e-16,
    3.0516559629782197e-16, 3.0665141783089555e-16, 3.0813659084082982e-16, 3.0962125106629235e-16,
    3.1110553326368940e-16, 3.1258957130439999e-16, 3.1407349826994472e-16, 3.1555744654528016e-16,
    3.1704154791040295e-16, 3.1852593363044075e-16, 3.2001073454440119e-16, 3.2149608115274475e-16,
    3.2298210370394161e-16, 3.2446893228016983e-16, 3.2595669688230789e-16, 3.2744552751437072e-16,
    3.2893555426753702e-16, 3.3042690740391289e-16, 3.3191971744017523e-16, 3.3341411523123725e-16,
    3.3491023205407789e-16, 3.3640819969187656e-16, 3.3790815051859503e-16, 3.3941021758414901e-16,
    3.4091453470031265e-16, 3.4242123652750187e-16, 3.4393045866258318e-16, 3.4544233772785845e-16,
    3.4695701146137845e-16, 3.4847461880874147e-16, 3.4999530001653820e-16, 3.5151919672760749e-16,
    3.5304645207827406e-16, 3.5457721079774367e-16, 3.5611161930983894e-16, 3.5764982583726515e-16,
    3.5919198050860314e-16, 3.6073823546823529e-16, 3.6228874498941935e-16, 3.6384366559073459e-16,
    3.6540315615613714e-16, 3.6696737805887024e-16, 3.6853649528949150e-16, 3.7011067458828993e-16,
    3.7169008558238235e-16, 3.7327490092779445e-16, 3.7486529645684892e-16, 3.7646145133120292e-16,
    3.7806354820089609e-16, 3.7967177336979448e-16, 3.8128631696783779e-16, 3.8290737313052437e-16,
    3.8453514018609596e-16, 3.8616982085091493e-16, 3.8781162243355867e-16, 3.8946075704819262e-16,
    3.9111744183782054e-16, 3.9278189920805420e-16, 3.9445435707208771e-16, 3.9613504910761354e-16,
    3.9782421502646826e-16, 3.9952210085785650e-16, 4.0122895924606291e-16, 4.0294504976363279e-16,
    4.0467063924107500e-16, 4.0640600211422504e-16, 4.0815142079049387e-16, 4.0990718603532659e-16,
    4.1167359738030247e-16, 4.1345096355442350e-16, 4.1523960294026869e-16, 4.1703984405683144e-16,
    4.1885202607101108e-16, 4.2067649933990141e-16, 4.2251362598620484e-16, 4.2436378050930775e-16,
    4.2622735043477981e-16, 4.2810473700531167e-16, 4.2999635591638323e-16, 4.3190263810026294e-16,
    4.3382403056227908e-16, 4.3576099727368490e-16, 4.3771402012585875e-16, 4.3968359995105214e-16,
    4.4167025761542035e-16, 4.4367453519065673e-16, 4.4569699721120431e-16, 4.4773823202475339e-16,
    4.4979885324455497e-16, 4.5187950131300588e-16, 4.5398084518700340e-16, 4.5610358415674230e-16,
    4.5824844981095677e-16, 4.6041620816311538e-16, 4.6260766195478467e-16, 4.6482365315432084e-16,
    4.6706506567126326e-16, 4.6933282830933299e-16, 4.7162791798383533e-16, 4.7395136323258691e-16,
    4.7630424805331393e-16, 4.7868771610487248e-16, 4.8110297531474192e-16, 4.8355130294115271e-16,
    4.8603405114508129e-16, 4.8855265313536044e-16, 4.9110862995952705e-16, 4.9370359802403355e-16,
    4.9633927744039873e-16, 4.9901750130918225e-16, 5.0174022607180904e-16, 5.0450954308187285e-16,
    5.0732769157335421e-16, 5.1019707323415618e-16, 5.1312026863067837e-16, 5.1610005577432282e-16,
    5.1913943117576996e-16, 5.2224163380002343e-16, 5.2541017241775973e-16, 5.2864885695049451e-16,
    5.3196183453384004e-16, 5.3535363118164969e-16, 5.3882920013340532e-16, 5.4239397822017123e-16,
    5.4605395190747804e-16, 5.4981573508928141e-16, 5.5368666124678760e-16, 5.5767489329265775e-16,
    5.6178955535554167e-16, 5.6604089200824232e-16, 5.7044046212913901e-16, 5.7500137689198962e-16,
    5.7973859457245946e-16, 5.8466928934554800e-16, 5.8981331764779004e-16, 5.9519381496414451e-16,
    6.0083796962719083e-16, 6.0677804093334485e-16, 6.1305272087252806e-16, 6.1970898945816256e-16,
    6.2680469633012834e-16, 6.3441224071275050e-16, 6.4262396595480544e-16, 6.5156033173449926e-16,
    6.6138278850976632e-16, 6.7231504625055856e-16, 6.8468034175642588e-16, 6.9897183363876200e-16,
    7.1599949348306632e-16, 7.3724243017987979e-16, 7.6589363708055718e-16, 8.1138493376564842e-16,
};
static const double zig_f[256] = {
    1.0000000000000000e+00, 9.7710170126767126e-01, 9.5987909180010633e-01, 9.4519895344229932e-01,
    9.3206007595923013e-01, 9.1999150503934668e-01, 9.0872644005213055e-01, 8.9809592189834309e-01,
    8.8798466075583304e-01, 8.7830965580891707e-01, 8.6900868803685671e-01, 8.6003362119633120e-01,
    8.5134625845867773e-01, 8.4291565311220396e-01, 8.3471629298688321e-01, 8.2672683394622104e-01,
    8.1892919160370203e-01, 8.1130787431265594e-01, 8.0384948317096394e-01, 7.9654233042295863e-01,
    7.8937614356602415e-01, 7.8234183265480206e-01, 7.7543130498118673e-01, 7.6863731579848582e-01,
    7.6195334683679494e-01, 7.5537350650709578e-01, 7.4889244721915649e-01, 7.4250529634015072e-01,
    7.3620759812686232e-01, 7.2999526456147579e-01, 7.2386453346862978e-01, 7.1781193263072163e-01,
    7.1183424887824809e-01, 7.0592850133275387e-01, 7.0009191813651128e-01, 6.9432191612611638e-01,
    6.8861608300467136e-01, 6.8297216164499441e-01, 6.7738803621877308e-01, 6.7186171989708177e-01,
    6.6639134390874988e-01, 6.6097514777666289e-01, 6.5561147057969704e-01, 6.5029874311081648e-01,
    6.4503548082082207e-01, 6.3982027745305625e-01, 6.3465179928762327e-01, 6.2952877992483636e-01,
    6.2445001554702617e-01, 6.1941436060583410e-01, 6.1442072388891356e-01, 6.0946806492577310e-01,
    6.0455539069746744e-01, 5.9968175261912493e-01, 5.9484624376798700e-01, 5.9004799633282556e-01,
    5.8528617926337090e-01, 5.8055999610079045e-01, 5.7586868297235327e-01, 5.7121150673525278e-01,
    5.6658776325616400e-01, 5.6199677581452401e-01, 5.5743789361876561e-01, 5.5291049042583196e-01,
    5.4841396325526548e-01, 5.4394773119002582e-01, 5.3951123425695169e-01, 5.3510393238045717e-01,
    5.3072530440366161e-01, 5.2637484717168403e-01, 5.2205207467232151e-01, 5.1775651722975591e-01,
    5.1348772074732663e-01, 5.0924524599574761e-01, 5.0502866794346790e-01, 5.0083757512614846e-01,
    4.9667156905248938e-01, 4.9253026364386820e-01, 4.8841328470545764e-01, 4.8432026942668294e-01,
    4.8025086590904648e-01, 4.7620473271950553e-01, 4.7218153846772981e-01, 4.6818096140569326e-01,
    4.6420268904817402e-01, 4.6024641781284253e-01, 4.5631185267871616e-01, 4.5239870686184830e-01,
    4.4850670150720279e-01, 4.4463556539573917e-01, 4.4078503466580382e-01, 4.3695485254798538e-01,
    4.3314476911265215e-01, 4.2935454102944132e-01, 4.2558393133802186e-01, 4.2183270922949578e-01,
    4.1810064983784800e-01, 4.1438753404089096e-01, 4.1069314827018805e-01, 4.0701728432947321e-01,
    4.0335973922111434e-01, 3.9972031498019706e-01, 3.9609881851583223e-01, 3.9249506145931540e-01,
    3.8890886001878860e-01, 3.8534003484007712e-01, 3.8178841087339344e-01, 3.7825381724561896e-01,
    3.7473608713789092e-01, 3.7123505766823928e-01, 3.6775056977903231e-01, 3.6428246812900378e-01,
    3.6083060098964781e-01, 3.5739482014578028e-01, 3.5397498080007661e-01, 3.5057094148140594e-01,
    3.4718256395679353e-01, 3.4380971314685060e-01, 3.4045225704452170e-01, 3.3711006663700593e-01,
    3.3378301583071829e-01, 3.3047098137916342e-01, 3.2717384281360135e-01, 3.2389148237639109e-01,
    3.2062378495690536e-01, 3.1737063802991350e-01, 3.1413193159633712e-01, 3.1090755812628634e-01,
    3.0769741250429195e-01, 3.0450139197664983e-01, 3.0131939610080294e-01, 2.9815132669668537e-01,
    2.9499708779996170e-01, 2.9185658561709504e-01, 2.8872972848218276e-01, 2.8561642681550159e-01,
    2.8251659308370747e-01, 2.7943014176163777e-01, 2.7635698929566810e-01, 2.7329705406857691e-01,
    2.7025025636587524e-01, 2.6721651834356114e-01, 2.6419576399726080e-01, 2.6118791913272088e-01,
    2.5819291133761896e-01, 2.5521066995466168e-01, 2.5224112605594196e-01, 2.4928421241852827e-01,
    2.4633986350126366e-01, 2.4340801542275015e-01, 2.4048860594050042e-01, 2.3758157443123798e-01,
    2.3468686187232993e-01, 2.3180441082433861e-01, 2.2893416541468026e-01, 2.2607607132238022e-01,
    2.2323007576391746e-01, 2.2039612748015197e-01, 2.1757417672433116e-01, 2.1476417525117361e-01,
    2.1196607630703018e-01, 2.0917983462112502e-01, 2.0640540639788074e-01, 2.0364274931033488e-01,
    2.0089182249465659e-01, 1.9815258654577514e-01, 1.9542500351413428e-01, 1.9270903690358915e-01,
    1.9000465167046499e-01, 1.8731181422380028e-01, 1.8463049242679927e-01, 1.8196065559952257e-01,
    1.7930227452284767e-01, 1.7665532144373500e-01, 1.7401977008183878e-01, 1.7139559563750595e-01,
    1.6878277480121151e-01, 1.6618128576448207e-01, 1.6359110823236572e-01, 1.6101222343751109e-01,
    1.5844461415592431e-01, 1.5588826472447923e-01, 1.5334316106026286e-01, 1.5080929068184570e-01,
    1.4828664273257455e-01, 1.4577520800599406e-01, 1.4327497897351343e-01, 1.4078594981444470e-01,
    1.3830811644855073e-01, 1.3584147657125373e-01, 1.3338602969166913e-01, 1.3094177717364433e-01,
    1.2850872227999954e-01, 1.2608687022018586e-01, 1.2367622820159656e-01, 1.2127680548479022e-01,
    1.1888861344290999e-01, 1.1651166562561081e-01, 1.1414597782783836e-01, 1.1179156816383801e-01,
    1.0944845714681165e-01, 1.0711666777468365e-01, 1.0479622562248690e-01, 1.0248715894193509e-01,
    1.0018949876880982e-01, 9.7903279038862298e-02, 9.5628536713008833e-02, 9.3365311912690874e-02,
    9.1113648066373634e-02, 8.8873592068275803e-02, 8.6645194450557961e-02, 8.4428509570353374e-02,
    8.2223595813202863e-02, 8.0030515814663056e-02, 7.7849336702096053e-02, 7.5680130358927081e-02,
    7.3522973713981268e-02, 7.1377949058890375e-02, 6.9245144397006769e-02, 6.7124653827788497e-02,
    6.5016577971242856e-02, 6.2921024437758127e-02, 6.0838108349539864e-02, 5.8767952920933765e-02,
    5.6710690106202902e-02, 5.4666461324888921e-02, 5.2635418276792183e-02, 5.0617723860947768e-02,
    4.8613553215868528e-02, 4.6623094901930368e-02, 4.4646552251294450e-02, 4.2684144916474438e-02,
    4.0736110655940933e-02, 3.8802707404526120e-02, 3.6884215688567291e-02, 3.4980941461716084e-02,
    3.3093219458578522e-02, 3.1221417191920248e-02, 2.9365939758133317e-02, 2.7527235669603085e-02,
    2.5705804008548896e-02, 2.3902203305795882e-02, 2.2117062707308868e-02, 2.0351096230044521e-02,
    1.8605121275724647e-02, 1.6880083152543170e-02, 1.5177088307935327e-02, 1.3497450601739880e-02,
    1.1842757857907889e-02, 1.0214971439701471e-02, 8.6165827693987316e-03, 7.0508754713732268e-03,
    5.5224032992509976e-03, 4.0379725933630305e-03, 2.6090727461021632e-03, 1.2602859304985975e-03,
};

/* stirlerr(n) for n < 16 (see stirlerr). */
static const double stirlerr_tab[16] = {
    0.0000000000000000e+00, 8.1061466795327261e-02, 4.1340695955409297e-02, 2.7677925684998338e-02,
    2.0790672103765093e-02, 1.6644691189821193e-02, 1.3876128823070748e-02, 1.1896709945891770e-02,
    1.0411265261972096e-02, 9.2554621827127329e-03, 8.3305634333628708e-03, 7.5736754879518406e-03,
    6.9428401072095299e-03, 6.4089941880042071e-03, 5.9513701127588475e-03, 5.5547335519628011e-03,
};

/* 1/k, so inversion multiplies. */
static const double recip[65] = {
    0.0,      1.0 / 1,  1.0 / 2,  1.0 / 3,  1.0 / 4,  1.0 / 5,  1.0 / 6,  1.0 / 7,  1.0 / 8,
    1.0 / 9,  1.0 / 10, 1.0 / 11, 1.0 / 12, 1.0 / 13, 1.0 / 14, 1.0 / 15, 1.0 / 16, 1.0 / 17,
    1.0 / 18, 1.0 / 19, 1.0 / 20, 1.0 / 21, 1.0 / 22, 1.0 / 23, 1.0 / 24, 1.0 / 25, 1.0 / 26,
    1.0 / 27, 1.0 / 28, 1.0 / 29, 1.0 / 30, 1.0 / 31, 1.0 / 32, 1.0 / 33, 1.0 / 34, 1.0 / 35,
    1.0 / 36, 1.0 / 37, 1.0 / 38, 1.0 / 39, 1.0 / 40, 1.0 / 41, 1.0 / 42, 1.0 / 43, 1.0 / 44,
    1.0 / 45, 1.0 / 46, 1.0 / 47, 1.0 / 48, 1.0 / 49, 1.0 / 50, 1.0 / 51, 1.0 / 52, 1.0 / 53,
    1.0 / 54, 1.0 / 55, 1.0 / 56, 1.0 / 57, 1.0 / 58, 1.0 / 59, 1.0 / 60, 1.0 / 61, 1.0 / 62,
    1.0 / 63, 1.0 / 64,
};

/* ---- standard normal: ziggurat ---- */

/* The rare ziggurat cases (1.5% of draws): the base layer's tail beyond zig_r (Marsaglia's
 * exponential rejection) and the wedges. Returns NAN to ask for a fresh draw. */
static __attribute__((noinline)) double zig_rare(struct rng *r, unsigned idx, double x, int neg)
{
    if (idx == 0) {
        for (;;) {
            double xx = -log(rng_uniform(r)) * zig_inv_r;
            double yy = -log(rng_uniform(r));
            if (yy + yy > xx * xx)
                return neg ? -(zig_r + xx) : zig_r + xx;
        }
    }
    double y = zig_f[idx] + rng_uniform(r) * (zig_f[idx - 1] - zig_f[idx]);
    return y < exp(-0.5 * x * x) ? x : NAN;
}

static inline double normal_draw(struct rng *r)
{
    for (;;) {
        uint64_t u = rng_u64(r);
        unsigned idx = (unsigned)(u & 0xff);
        uint64_t rabs = u >> 12; /* 52 bits; bit 8 is the sign, bits 9-11 unused */
        double x = (double)rabs * zig_w[idx];
        /* the sign by flipping the bit: a branch on it would be mispredicted half the time, and the
         * flush costs more than the rest of the draw (it stalls the pipelined Philox rounds) */
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        bits ^= (u & 0x100) << 55;
        memcpy(&x, &bits, sizeof x);
        if (rabs < zig_k[idx])
            return x;
        x = zig_rare(r, idx, x, (int)(u >> 8) & 1);
        if (x == x)
            return x;
    }
}

double rng_normal(struct rng *r)
{
    return normal_draw(r);
}

/* ---- gamma: Marsaglia and Tsang ---- */

/* g[0] = d, g[1] = c of Marsaglia-Tsang for max(shape, shape + 1 if shape < 1); g[2] = 1/shape when
 * the boost U^(1/shape) applies, else 0. */
static void gamma_setup(double shape, double g[3])
{
    double s = shape < 1 ? shape + 1 : shape;
    g[0] = s - 1.0 / 3.0;
    g[1] = 1.0 / sqrt(9.0 * g[0]);
    g[2] = shape < 1 ? 1.0 / shape : 0.0;
}

/* Gamma(d + 1/3), d >= 2/3: always > 0. */
static inline double gamma_mt(struct rng *r, double d, double c)
{
    for (;;) {
        double x, v;
        do {
            x = normal_draw(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = rng_uniform(r);
        double x2 = x * x;
        if (u < 1.0 - 0.0331 * x2 * x2)
            return d * v;
        if (log(u) < 0.5 * x2 + d * (1.0 - v + log(v)))
            return d * v;
    }
}

static inline double gamma_draw(struct rng *r, const double g[3])
{
    double x = gamma_mt(r, g[0], g[1]);
    if (g[2] != 0.0)
        x *= exp(log(rng_uniform(r)) * g[2]);
    return x;
}

/* log of a gamma draw: finite for shapes >= SHAPE_MIN, where the draw itself may underflow to 0. */
static inline double log_gamma_draw(struct rng *r, const double g[3])
{
    double lx = log(gamma_mt(r, g[0], g[1]));
    if (g[2] != 0.0)
        lx += log(rng_uniform(r)) * g[2];
    return lx;
}

double rng_gamma(struct rng *r, double shape)
{
    double g[3];
    gamma_setup(shape, g);
    return gamma_draw(r, g);
}

/* ---- Poisson ---- */

/* Chop-down inversion from 0; emlam = exp(-lam). */
/* exp(x) inline, for the samplers' loops (a call to libm's clobbers every vector register the loop
 * keeps): x = n ln 2 + t with |t| <= ln 2 / 2 (ln 2 in two parts, so t is exact to ~1e-19), e^t by
 * its Taylor series to t^13 (truncation below 2e-17 relative), times 2^n through the exponent bits.
 * Within 2 ulp of the exact value (tests/unit/risk/test_dist.c compares it with libm's); outside
 * [-708, 709] it defers to libm (subnormal results, overflow). */
static inline double fast_exp(double x)
{
    if (!(x > -708.0 && x < 709.0))
        return exp(x);
    /* round to nearest by the 1.5 x 2^52 trick (|x log2 e| < 2^51): no call to nearbyint */
    double n = (x * 1.4426950408889634074 + 0x1.8p52) - 0x1.8p52;
    double t = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * t + 1.0 / 479001600.0;
    p = p * t + 1.0 / 39916800.0;
    p = p * t + 1.0 / 3628800.0;
    p = p * t + 1.0 / 362880.0;
    p = p * t + 1.0 / 40320.0;
    p = p * t + 1.0 / 5040.0;
    p = p * t + 1.0 / 720.0;
    p = p * t + 1.0 / 120.0;
    p = p * t + 1.0 / 24.0;
    p = p * t + 1.0 / 6.0;
    p = p * t + 0.5;
    p = p * t + 1.0;
    p = p * t + 1.0;
    uint64_t bits = (uint64_t)((int64_t)n + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

double dist_fast_exp(double x)
{
    return fast_exp(x);
}

static inline double poisson_inv(struct rng *r, double lam, double emlam)
{
    for (;;) {
        double u = rng_uniform(r), p = emlam;
        for (int k = 0; k < POIS_INV_CAP; k++) {
            if (u <= p)
                return k;
            u -= p;
            p *= lam * recip[k + 1];
        }
    }
}

/* log(n!) - ((n + 1/2) log n - n + log sqrt(2 pi)), n >= 1 an integer (Loader 2000). */
static double stirlerr(double n)
{
    if (n < 16)
        return stirlerr_tab[(int)n];
    double nn = n * n;
    return (1.0 / 12 -
            (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - (1.0 / 1188) / nn) / nn) / nn) / nn) /
           n;
}

/* x log(x/np) + np - x without cancellation (Loader 2000). */
static double bd0(double x, double np)
{
    if (fabs(x - np) < 0.1 * (x + np)) {
        double v = (x - np) / (x + np), s = (x - np) * v, ej = 2 * x * v;
        v *= v;
        for (int j = 1; j < 1000; j++) {
            ej *= v;
            double s1 = s + ej / (2 * j + 1);
            if (s1 == s)
                return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / np) + np - x;
}

/* log P(X = k) for X ~ Poisson(lam), accurate at any rate: -lam + k log lam - log k! cancels. */
static double poisson_logpmf(double k, double lam)
{
    if (k == 0)
        return -lam;
    return -stirlerr(k) - bd0(k, lam) - LN_SQRT2PI - 0.5 * log(k);
}

/* PTRS (Hormann 1993), rate >= 10. log_ia = log(1/alpha) of the paper, or NAN to compute it on the
 * slow path only (rng_poisson, where the rate changes from call to call). */
static inline double poisson_ptrs(struct rng *r, double lam, double a, double b, double vr,
                                  double log_ia)
{
    for (;;) {
        double u = rng_uniform(r) - 0.5, v = rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + lam + 0.43);
        if (us >= 0.07 && v <= vr)
            return k;
        if (k < 0 || (us < 0.013 && v > us))
            continue;
        if (log_ia != log_ia)
            log_ia = log(1.1239 + 1.1328 / (b - 3.4));
        if (log(v) + log_ia - log(a / (us * us) + b) <= poisson_logpmf(k, lam))
            return k;
    }
}

static void ptrs_setup(double lam, double *a, double *b, double *vr)
{
    *b = 0.931 + 2.53 * sqrt(lam);
    *a = -0.059 + 0.02483 * *b;
    *vr = 0.9277 - 3.6224 / (*b - 2);
}

static inline __attribute__((always_inline)) unsigned long poisson(struct rng *r, double rate)
{
    if (!(rate > 0))
        return 0;
    if (!(rate < INFINITY))
        return ULONG_MAX;
    double k;
    if (rate < POIS_INV_MAX) {
        k = poisson_inv(r, rate, fast_exp(-rate));
    } else {
        double a, b, vr;
        ptrs_setup(rate, &a, &b, &vr);
        k = poisson_ptrs(r, rate, a, b, vr, NAN);
    }
    return k < (double)ULONG_MAX ? (unsigned long)k : ULONG_MAX;
}

unsigned long rng_poisson(struct rng *r, double rate)
{
    return poisson(r, rate);
}

void dist_poisson_counts(uint64_t *restrict st, const double *restrict rate, double mult,
                         const double *restrict vuln, uint32_t *restrict n, size_t len,
                         uint32_t cap)
{
    /* the rates and exp(-rate) first, in a loop of their own (independent, so their latency
     * overlaps), then the draws */
    enum { CHUNK = 256 };
    double lam[CHUNK], em[CHUNK];
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t m = len - off < CHUNK ? len - off : CHUNK;
        for (size_t i = 0; i < m; i++) {
            double l = rate[off + i] * mult;
            if (vuln)
                l *= vuln[off + i] < 0 ? 0 : vuln[off + i] > 1 ? 1 : vuln[off + i];
            lam[i] = l;
            em[i] = fast_exp(-l);
        }
        for (size_t i = 0; i < m; i++) {
            struct rng r = {st[off + i]};
            unsigned long k;
            double l = lam[i];
            if (l > 0 && l < POIS_INV_MAX) {
                double kd = poisson_inv(&r, l, em[i]);
                k = (unsigned long)kd;
            } else {
                k = poisson(&r, l);
            }
            st[off + i] = r.s;
            n[off + i] = k > cap ? cap : (uint32_t)k;
        }
    }
}

/* ---- the standard normal CDF and quantile ---- */

double dist_norm_cdf(double x)
{
    return 0.5 * erfc(-x * SQRT1_2);
}

/* Acklam's rational approximation (relative error < 1.15e-9) and one Halley step on the lower half,
 * where Phi(x) - p has no cancellation; the upper half by symmetry (1 - p is exact there). */
static double quantile_lower(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double x;
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        double q = p - 0.5, t = q * q;
        x = (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * q /
            (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
    }
    double e = 0.5 * erfc(-x * SQRT1_2) - p;
    /* u = e/phi(x), with exp(x^2/2) as h^2 so that it does not overflow at p ~ 1e-320 */
    double h = exp(0.25 * x * x);
    double u = e * SQRT2PI * h * h;
    return x - u / (1 + 0.5 * x * u);
}

double dist_norm_quantile(double p)
{
    if (!(p > 0))
        return p == 0 ? -INFINITY : NAN;
    if (!(p < 1))
        return p == 1 ? INFINITY : NAN;
    return p > 0.5 ? -quantile_lower(1 - p) : quantile_lower(p);
}

/* ---- construction ---- */

static const struct {
    int np;
    const char *name[4];
} params[] = {
    [DIST_CONSTANT] = {1, {"value"}},
    [DIST_PERT] = {4, {"min", "mode", "max", "lambda"}},
    [DIST_PERT_MOMENT] = {4, {"min", "mode", "max", "lambda"}},
    [DIST_LOGNORMAL] = {2, {"mu", "sigma"}},
    [DIST_POISSON] = {1, {"rate"}},
    [DIST_NORMAL] = {2, {"mean", "sd"}},
    [DIST_UNIFORM] = {2, {"min", "max"}},
    [DIST_TRIANGULAR] = {3, {"min", "mode", "max"}},
    [DIST_BETA] = {4, {"alpha", "beta", "min", "max"}},
};

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return AEG_EINVAL;
}

static void set_const(struct dist *d, double v)
{
    d->alg = S_CONST;
    d->lo = d->hi = v;
    d->span = 0;
}

/* [min, max]: checks the order and that the width is finite. */
static int set_range(struct dist *d, double min, double max, char *err, size_t errlen)
{
    if (min > max)
        return fail(err, errlen, "min is greater than max");
    if (!isfinite(max - min))
        return fail(err, errlen, "max - min is too large to represent");
    d->lo = min;
    d->hi = max;
    d->span = max - min;
    return 0;
}

/* A beta on [lo, hi] with shapes d->a, d->b; the messages say what to blame for a shape out of
 * range. */
static int set_beta(struct dist *d, const char *what_small, const char *what_large, char *err,
                    size_t errlen)
{
    if (!(d->a >= SHAPE_MIN && d->b >= SHAPE_MIN))
        return fail(err, errlen, "%s", what_small);
    if (!(d->a <= SHAPE_MAX && d->b <= SHAPE_MAX))
        return fail(err, errlen, "%s", what_large);
    gamma_setup(d->a, d->g_a);
    gamma_setup(d->b, d->g_b);
    d->alg = d->a >= 1 && d->b >= 1 ? S_BETA : S_BETA_LOG;
    if (d->span == 0) {
        set_const(d, d->lo);
        return 0;
    }
    /* inversion through a table when its accuracy can be had (every PERT): one uniform a draw
     * instead of two gamma draws; the gamma ratio otherwise */
    struct itab t;
    if (itab_build_beta(&t, d->a, d->b, d->lo, d->hi) == 0) {
        d->tab = xmalloc(sizeof *d->tab);
        *d->tab = t;
        d->alg = S_TABLE;
    }
    return 0;
}

int dist_make(struct dist *d, enum dist_kind kind, const double p[4], bool truncate_zero, char *err,
              size_t errlen)
{
    memset(d, 0, sizeof *d);
    if ((unsigned)kind >= sizeof params / sizeof params[0] || !params[kind].np)
        return fail(err, errlen, "unknown distribution kind %d", (int)kind);
    for (int i = 0; i < params[kind].np; i++) {
        if (!isfinite(p[i]))
            return fail(err, errlen, "%s is not a finite number", params[kind].name[i]);
        d->p[i] = p[i];
    }
    d->kind = kind;
    int rc = 0;
    switch (kind) {
    case DIST_CONSTANT:
        set_const(d, p[0]);
        break;
    case DIST_PERT:
    case DIST_PERT_MOMENT:
    case DIST_TRIANGULAR: {
        double min = p[0], mode = p[1], max = p[2], lambda = d->p[3]; /* 0 for triangular */
        if ((rc = set_range(d, min, max, err, errlen)))
            return rc;
        if (mode < min || mode > max)
            return fail(err, errlen, "mode is outside [min, max]");
        if (kind != DIST_TRIANGULAR && !(lambda > 0))
            return fail(err, errlen, "lambda must be greater than zero");
        if (d->span == 0) {
            set_const(d, min);
            break;
        }
        if (kind == DIST_TRIANGULAR) {
            d->alg = S_TRIANGULAR;
            d->c[0] = (mode - min) / d->span;
            d->c[1] = sqrt(d->span) * sqrt(mode - min);
            d->c[2] = sqrt(d->span) * sqrt(max - mode);
            break;
        }
        /* PERT's shapes A and B. PERT_MOMENT's mean scaled to [0, 1] is m = A/(lambda + 2), with
         * 1 - m = B/(lambda + 2); with v = 1/(lambda + 2)^2 the scaled variance, the method of
         * moments' m (1 - m)/v - 1 is A B - 1 = lambda (1 + lambda f (1 - f)), f the mode's place
         * in [0, 1]: the last form keeps its precision when lambda is small */
        double f = (mode - min) / d->span;
        double A = 1 + lambda * f, B = 1 + lambda * ((max - mode) / d->span);
        if (kind == DIST_PERT) {
            d->a = A;
            d->b = B;
        } else {
            double k = lambda * (1 + lambda * f * (1 - f));
            d->a = A / (lambda + 2) * k;
            d->b = B / (lambda + 2) * k;
            if (!(d->a > 0 && d->b > 0))
                return fail(err, errlen,
                            "lambda gives no beta with this mean and sd (alpha and beta must be "
                            "greater than zero)");
        }
        rc = set_beta(d, "lambda is too small", "lambda is too large", err, errlen);
        break;
    }
    case DIST_BETA:
        if (!(p[0] > 0))
            return fail(err, errlen, "alpha must be greater than zero");
        if (!(p[1] > 0))
            return fail(err, errlen, "beta must be greater than zero");
        if ((rc = set_range(d, p[2], p[3], err, errlen)))
            return rc;
        d->a = p[0];
        d->b = p[1];
        rc = set_beta(d, "alpha and beta must be at least 1e-300",
                      "alpha and beta must be at most 1e300", err, errlen);
        break;
    case DIST_LOGNORMAL:
        if (p[1] < 0)
            return fail(err, errlen, "sigma must not be negative");
        d->a = p[0];
        d->b = p[1];
        d->alg = S_LOGNORMAL;
        if (p[1] == 0)
            set_const(d, exp(p[0]));
        break;
    case DIST_POISSON: {
        double lam = p[0];
        if (lam < 0)
            return fail(err, errlen, "rate must not be negative");
        d->c[0] = lam;
        if (lam == 0) {
            set_const(d, 0);
        } else if (lam < POIS_INV_MAX) {
            d->alg = S_POIS_INV;
            d->c[1] = exp(-lam);
        } else {
            d->alg = S_POIS_PTRS;
            ptrs_setup(lam, &d->a, &d->b, &d->c[2]);
            d->c[3] = log(1.1239 + 1.1328 / (d->b - 3.4));
        }
        break;
    }
    case DIST_NORMAL:
        if (!(p[1] > 0))
            return fail(err, errlen, "sd must be greater than zero");
        d->a = p[0];
        d->b = p[1];
        d->alg = S_NORMAL;
        d->truncate_zero = truncate_zero;
        if (truncate_zero) {
            double alpha = -p[0] / p[1]; /* zero in sd from the mean */
            if (alpha > TNORM_MAX_SD)
                return fail(err, errlen,
                            "mean is more than %g sd below zero: too little of the normal lies "
                            "above zero to truncate it there",
                            TNORM_MAX_SD);
            d->c[0] = alpha;
            d->c[1] = 0.5 * erfc(alpha * SQRT1_2); /* P(X >= 0) */
            d->alg = d->c[1] >= TNORM_REJECT ? S_TNORM_REJECT : S_TNORM_INV;
        }
        break;
    case DIST_UNIFORM:
        if ((rc = set_range(d, p[0], p[1], err, errlen)))
            return rc;
        d->alg = d->span == 0 ? S_CONST : S_UNIFORM;
        break;
    }
    return rc;
}

int dist_lognormal_90(struct dist *d, double p05, double p95, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!isfinite(p05))
        return fail(err, errlen, "p05 is not a finite number");
    if (!isfinite(p95))
        return fail(err, errlen, "p95 is not a finite number");
    if (!(p05 > 0))
        return fail(err, errlen, "p05 must be greater than zero");
    if (!(p05 < p95))
        return fail(err, errlen, "p05 must be less than p95");
    double lo = log(p05), hi = log(p95);
    double p[4] = {0.5 * (lo + hi), (hi - lo) / (2 * Z95), 0, 0};
    return dist_make(d, DIST_LOGNORMAL, p, false, err, errlen);
}

/* ---- sampling ---- */

static inline double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* One draw by sampler alg: inlined with alg a constant, the switch folds away (see dist_fill). */
static inline __attribute__((always_inline)) double sample(const struct dist *d, struct rng *r,
                                                           enum sampler alg)
{
    switch (alg) {
    case S_CONST:
        return d->lo;
    case S_TABLE:
        return itab_eval(d->tab, rng_uniform(r));
    case S_BETA: {
        double x = gamma_draw(r, d->g_a), y = gamma_draw(r, d->g_b);
        return clamp(d->lo + d->span * (x / (x + y)), d->lo, d->hi);
    }
    case S_BETA_LOG: {
        double lx = log_gamma_draw(r, d->g_a), ly = log_gamma_draw(r, d->g_b);
        return clamp(d->lo + d->span / (1 + exp(ly - lx)), d->lo, d->hi);
    }
    case S_LOGNORMAL:
        return fast_exp(d->a + d->b * normal_draw(r));
    case S_POIS_INV:
        return poisson_inv(r, d->c[0], d->c[1]);
    case S_POIS_PTRS:
        return poisson_ptrs(r, d->c[0], d->a, d->b, d->c[2], d->c[3]);
    case S_NORMAL:
        return d->a + d->b * normal_draw(r);
    case S_TNORM_REJECT:
        for (;;) {
            double x = d->a + d->b * normal_draw(r);
            if (x >= 0)
                return x + 0.0; /* never -0 */
        }
    case S_TNORM_INV: {
        double x = d->a - d->b * dist_norm_quantile(rng_uniform(r) * d->c[1]);
        return x > 0 ? x : 0;
    }
    case S_UNIFORM:
        return clamp(d->lo + d->span * rng_uniform(r), d->lo, d->hi);
    case S_TRIANGULAR: {
        double u = rng_uniform(r);
        double x = u < d->c[0] ? d->lo + d->c[1] * sqrt(u) : d->hi - d->c[2] * sqrt(1 - u);
        return clamp(x, d->lo, d->hi);
    }
    }
    return d->lo;
}

double dist_sample(const struct dist *d, struct rng *r)
{
    return sample(d, r, (enum sampler)d->alg);
}

/* The loops of dist_fill and dist_add, one per sampler so each is a tight loop of its own. */
#define BATCH(ALG)                                                                                 \
    case ALG:                                                                                      \
        if (!n) {                                                                                  \
            for (size_t i = 0; i < len; i++) {                                                     \
                struct rng r = {st[i]};                                                            \
                double x = sample(d, &r, ALG);                                                     \
                out[i] = add ? out[i] + x : x;                                                     \
                st[i] = r.s;                                                                       \
            }                                                                                      \
        } else {                                                                                   \
            for (size_t i = 0; i < len; i++) {                                                     \
                if (!n[i])                                                                         \
                    continue;                                                                      \
                struct rng r = {st[i]};                                                            \
                double acc = out[i];                                                               \
                for (uint32_t e = 0; e < n[i]; e++)                                                \
                    acc += sample(d, &r, ALG);                                                     \
                out[i] = acc;                                                                      \
                st[i] = r.s;                                                                       \
            }                                                                                      \
        }                                                                                          \
        break;

/* The loops of dist_fill, dist_add and dist_add_events, one per sampler so each is a tight loop of
 * its own (restrict: the stores cannot change the distribution, whose fields stay in registers). */
#define LOOPS(ALG)                                                                                 \
    static void fill_##ALG(const struct dist *restrict d, uint64_t *restrict st,                   \
                           double *restrict out, size_t len)                                       \
    {                                                                                              \
        for (size_t i = 0; i < len; i++) {                                                         \
            struct rng r = {st[i]};                                                                \
            out[i] = sample(d, &r, ALG);                                                           \
            st[i] = r.s;                                                                           \
        }                                                                                          \
    }                                                                                              \
    static void add_##ALG(const struct dist *restrict d, uint64_t *restrict st,                    \
                          const uint32_t *restrict n, double *restrict acc, size_t len)            \
    {                                                                                              \
        for (size_t i = 0; i < len; i++) {                                                         \
            uint32_t k = n ? n[i] : 1;                                                             \
            if (!k)                                                                                \
                continue;                                                                          \
            struct rng r = {st[i]};                                                                \
            double a = acc[i];                                                                     \
            for (uint32_t e = 0; e < k; e++)                                                       \
                a += sample(d, &r, ALG);                                                           \
            acc[i] = a;                                                                            \
            st[i] = r.s;                                                                           \
        }                                                                                          \
    }                                                                                              \
    static void events_##ALG(const struct dist *restrict d, uint64_t *restrict st,                 \
                             const uint32_t *restrict ev, size_t nev, double *restrict acc)        \
    {                                                                                              \
        for (size_t j = 0; j < nev; j++) {                                                         \
            uint32_t i = ev[j];                                                                    \
            struct rng r = {st[i]};                                                                \
            acc[i] += sample(d, &r, ALG);                                                          \
            st[i] = r.s;                                                                           \
        }                                                                                          \
    }

LOOPS(S_CONST)
LOOPS(S_TABLE)
LOOPS(S_BETA)
LOOPS(S_BETA_LOG)
LOOPS(S_LOGNORMAL)
LOOPS(S_POIS_INV)
LOOPS(S_POIS_PTRS)
LOOPS(S_NORMAL)
LOOPS(S_TNORM_REJECT)
LOOPS(S_TNORM_INV)
LOOPS(S_UNIFORM)
LOOPS(S_TRIANGULAR)

#define DISPATCH(FN, ...)                                                                          \
    switch ((enum sampler)d->alg) {                                                                \
    case S_CONST:                                                                                  \
        FN##_S_CONST(__VA_ARGS__);                                                                 \
        break;                                                                                     \
    case S_TABLE:                                                                                  \
        FN##_S_TABLE(__VA_ARGS__);                                                                 \
        break;                                                                                     \
    case S_BETA:                                                                                   \
        FN##_S_BETA(__VA_ARGS__);                                                                  \
        break;                                                                                     \
    case S_BETA_LOG:                                                                               \
        FN##_S_BETA_LOG(__VA_ARGS__);                                                              \
        break;                                                                                     \
    case S_LOGNORMAL:                                                                              \
        FN##_S_LOGNORMAL(__VA_ARGS__);                                                             \
        break;                                                                                     \
    case S_POIS_INV:                                                                               \
        FN##_S_POIS_INV(__VA_ARGS__);                                                              \
        break;                                                                                     \
    case S_POIS_PTRS:                                                                              \
        FN##_S_POIS_PTRS(__VA_ARGS__);                                                             \
        break;                                                                                     \
    case S_NORMAL:                                                                                 \
        FN##_S_NORMAL(__VA_ARGS__);                                                                \
        break;                                                                                     \
    case S_TNORM_REJECT:                                                                           \
        FN##_S_TNORM_REJECT(__VA_ARGS__);                                                          \
        break;                                                                                     \
    case S_TNORM_INV:                                                                              \
        FN##_S_TNORM_INV(__VA_ARGS__);                                                             \
        break;                                                                                     \
    case S_UNIFORM:                                                                                \
        FN##_S_UNIFORM(__VA_ARGS__);                                                               \
        break;                                                                                     \
    case S_TRIANGULAR:                                                                             \
        FN##_S_TRIANGULAR(__VA_ARGS__);                                                            \
        break;                                                                                     \
    }

void dist_fill(const struct dist *d, uint64_t *st, double *out, size_t len)
{
    DISPATCH(fill, d, st, out, len)
}

void dist_add(const struct dist *d, uint64_t *st, const uint32_t *n, double *acc, size_t len)
{
    DISPATCH(add, d, st, n, acc, len)
}

void dist_add_events(const struct dist *d, uint64_t *st, const uint32_t *ev, size_t nev,
                     double *acc)
{
    DISPATCH(events, d, st, ev, nev, acc)
}

/* ---- moments and bounds ---- */

/* Lower truncation at zero: lambda = phi(alpha)/Q(alpha), the inverse Mills ratio. */
static double tnorm_mills(const struct dist *d)
{
    double alpha = d->c[0];
    return exp(-0.5 * alpha * alpha) / SQRT2PI / d->c[1];
}

double dist_mean(const struct dist *d)
{
    switch (d->kind) {
    case DIST_CONSTANT:
        return d->p[0];
    case DIST_PERT:
    case DIST_PERT_MOMENT:
    case DIST_BETA:
        if (d->span == 0)
            return d->lo;
        return d->lo + d->span * (d->a / (d->a + d->b));
    case DIST_LOGNORMAL:
        return exp(d->p[0] + 0.5 * d->p[1] * d->p[1]);
    case DIST_POISSON:
        return d->p[0];
    case DIST_NORMAL:
        if (d->truncate_zero)
            return d->p[0] + d->p[1] * tnorm_mills(d);
        return d->p[0];
    case DIST_UNIFORM:
        return d->p[0] + 0.5 * (d->p[1] - d->p[0]);
    case DIST_TRIANGULAR:
        return (d->p[0] + d->p[1] + d->p[2]) / 3;
    }
    return NAN;
}

double dist_variance(const struct dist *d)
{
    switch (d->kind) {
    case DIST_CONSTANT:
        return 0;
    case DIST_PERT:
    case DIST_BETA: {
        if (d->span == 0)
            return 0;
        double s = d->a + d->b;
        return d->span * d->span * (d->a / s) * (d->b / s) / (s + 1);
    }
    case DIST_PERT_MOMENT: {
        double sd = d->span / (d->p[3] + 2);
        return sd * sd;
    }
    case DIST_LOGNORMAL: {
        double s2 = d->p[1] * d->p[1];
        return expm1(s2) * exp(2 * d->p[0] + s2);
    }
    case DIST_POISSON:
        return d->p[0];
    case DIST_NORMAL:
        if (d->truncate_zero) {
            double l = tnorm_mills(d);
            return d->p[1] * d->p[1] * (1 + d->c[0] * l - l * l);
        }
        return d->p[1] * d->p[1];
    case DIST_UNIFORM:
        return d->span * d->span / 12;
    case DIST_TRIANGULAR: {
        double a = d->p[0], c = d->p[1], b = d->p[2];
        return (a * a + b * b + c * c - a * b - a * c - b * c) / 18;
    }
    }
    return NAN;
}

double dist_min(const struct dist *d)
{
    switch (d->kind) {
    case DIST_LOGNORMAL:
        return d->p[1] == 0 ? d->lo : 0;
    case DIST_POISSON:
        return 0;
    case DIST_NORMAL:
        return d->truncate_zero ? 0 : -INFINITY;
    default:
        return d->lo;
    }
}

double dist_max(const struct dist *d)
{
    switch (d->kind) {
    case DIST_LOGNORMAL:
        return d->p[1] == 0 ? d->lo : INFINITY;
    case DIST_POISSON:
        return d->p[0] == 0 ? 0 : INFINITY;
    case DIST_NORMAL:
        return INFINITY;
    default:
        return d->hi;
    }
}

/* ---- distribution functions ---- */

double dist_cdf(const struct dist *d, double x)
{
    if (isnan(x))
        return NAN;
    switch ((enum sampler)d->alg) {
    case S_CONST:
        return x >= d->lo ? 1 : 0;
    case S_TABLE:
    case S_BETA:
    case S_BETA_LOG: {
        double z = (x - d->lo) / d->span;
        return z <= 0 ? 0 : z >= 1 ? 1 : itab_beta_cdf(z, d->a, d->b);
    }
    case S_LOGNORMAL:
        return x <= 0 ? 0 : dist_norm_cdf((log(x) - d->a) / d->b);
    case S_NORMAL:
        return dist_norm_cdf((x - d->a) / d->b);
    case S_TNORM_REJECT:
    case S_TNORM_INV: /* 1 - P(X > x | X >= 0) */
        return x < 0 ? 0 : 1 - dist_norm_cdf((d->a - x) / d->b) / d->c[1];
    case S_UNIFORM:
        return x <= d->lo ? 0 : x >= d->hi ? 1 : (x - d->lo) / d->span;
    case S_TRIANGULAR: {
        double mode = d->p[1];
        if (x <= d->lo)
            return 0;
        if (x >= d->hi)
            return 1;
        if (x <= mode)
            return (x - d->lo) * (x - d->lo) / (d->span * (mode - d->lo));
        return 1 - (d->hi - x) * (d->hi - x) / (d->span * (d->hi - mode));
    }
    case S_POIS_INV:
    case S_POIS_PTRS: {
        if (x < 0)
            return 0;
        /* the terms up to floor(x) in logs; a rate this engine takes sums a bounded number */
        double lam = d->c[0], k = floor(x), sum = 0;
        double from = fmax(0, floor(lam - 40 * sqrt(lam) - 40));
        if (k < from)
            return 0;
        for (double i = from; i <= k && i < lam + 40 * sqrt(lam) + 40; i++)
            sum += exp(poisson_logpmf(i, lam));
        return sum > 1 ? 1 : sum;
    }
    }
    return NAN;
}

/* A beta's quantile without a table: bisection on the CDF (slow; for shapes the table refuses). */
static double beta_quantile_slow(const struct dist *d, double u)
{
    double lo = 0, hi = 1;
    for (int i = 0; i < 200 && hi - lo > 1e-16; i++) {
        double mid = 0.5 * (lo + hi);
        if (itab_beta_cdf(mid, d->a, d->b) < u)
            lo = mid;
        else
            hi = mid;
    }
    return d->lo + d->span * (0.5 * (lo + hi));
}

double dist_quantile(const struct dist *d, double u)
{
    u = u < 0 ? 0 : u > 1 ? 1 : u;
    switch ((enum sampler)d->alg) {
    case S_CONST:
        return d->lo;
    case S_TABLE:
        if (u > 0 && u < 1)
            return itab_eval(d->tab, u);
        return u <= 0 ? d->lo : d->hi;
    case S_BETA:
    case S_BETA_LOG:
        return beta_quantile_slow(d, u);
    case S_LOGNORMAL:
        return exp(d->a + d->b * dist_norm_quantile(u));
    case S_NORMAL:
        return d->a + d->b * dist_norm_quantile(u);
    case S_TNORM_REJECT:
    case S_TNORM_INV: {
        double x = d->a - d->b * dist_norm_quantile((1 - u) * d->c[1]);
        return x > 0 ? x : 0;
    }
    case S_UNIFORM:
        return clamp(d->lo + d->span * u, d->lo, d->hi);
    case S_TRIANGULAR: {
        double x = u < d->c[0] ? d->lo + d->c[1] * sqrt(u) : d->hi - d->c[2] * sqrt(1 - u);
        return clamp(x, d->lo, d->hi);
    }
    case S_POIS_INV:
    case S_POIS_PTRS:
        break;
    }
    return NAN;
}

static bool is_poisson(const struct dist *d)
{
    return d->alg == S_POIS_INV || d->alg == S_POIS_PTRS;
}

/* 5-point Gauss-Legendre nodes on [-1, 1] and their weights. */
static const double gl_x[5] = {-0.90617984593866399280, -0.53846931010568309104, 0,
                               0.53846931010568309104, 0.90617984593866399280};
static const double gl_w[5] = {0.23692688505618908751, 0.47862867049936646804,
                               0.56888888888888888889, 0.47862867049936646804,
                               0.23692688505618908751};
#define P_GREATER_PANELS 2048

double dist_p_greater(const struct dist *x, const struct dist *y)
{
    if (is_poisson(x) || is_poisson(y))
        return -1;
    if (y->alg == S_CONST) /* P(X > c) */
        return x->alg == S_CONST ? (x->lo > y->lo ? 1 : 0) : 1 - dist_cdf(x, y->lo);
    if (x->alg == S_CONST) /* P(Y < c) = P(Y <= c): Y is continuous */
        return dist_cdf(y, x->lo);
    /* both continuous: P(X > Y) = E[P(X > Y) | Y] = the integral over u in (0, 1) of
     * 1 - F_X(Q_Y(u)), by composite Gauss-Legendre (the integrand is bounded and monotone; its
     * error is far below any Monte Carlo error) */
    double sum = 0, h = 1.0 / P_GREATER_PANELS;
    for (int k = 0; k < P_GREATER_PANELS; k++) {
        double mid = (k + 0.5) * h, acc = 0;
        for (int j = 0; j < 5; j++)
            acc += gl_w[j] * (1 - dist_cdf(x, dist_quantile(y, mid + 0.5 * h * gl_x[j])));
        sum += 0.5 * h * acc;
    }
    return sum < 0 ? 0 : sum > 1 ? 1 : sum;
}

void dist_free(struct dist *d)
{
    if (d->tab) {
        itab_free(d->tab);
        free(d->tab);
        d->tab = NULL;
    }
}
